"""The state machine: confirm, then each step in order; refusals, self-approval, replays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.errors import (
    AlreadyDecided,
    InvalidDecision,
    InvalidTransition,
    NotAnApprover,
)
from chalicelib.domain.models import AccessRequest, RequestStatus, StepStatus
from chalicelib.domain.submission import validate_submission
from chalicelib.domain.workflow import can_transition, confirm, content_hash, decide, new_request
from tests.conftest import PROJECT_ROOT, valid_form

pytestmark = pytest.mark.unit
POLICY = load_policy(PROJECT_ROOT / "policies")
T0 = datetime(2026, 11, 29, 21, 5, tzinfo=UTC)
MANAGER = "jean.gestion@mcn.gouv.qc.ca"
OFFICER = "securite.demo@mcn.gouv.qc.ca"


def filed(**overrides: object) -> AccessRequest:
    content = validate_submission(valid_form(**overrides), POLICY).content
    assert content is not None
    return new_request("abcdef0123456789abcdef01", content, POLICY, "fr", T0)


def test_a_new_request_waits_for_confirmation_with_the_policy_chain() -> None:
    request = filed()
    assert request.status == RequestStatus.PENDING_CONFIRMATION
    assert [s.role for s in request.steps] == ["manager", "security"]
    assert request.steps[0].approvers == (MANAGER,)
    assert set(request.steps[1].approvers) == set(POLICY.officer_emails())
    assert all(s.status == StepStatus.WAITING for s in request.steps)


def test_full_approval_grants_access_for_the_duration() -> None:
    request = confirm(filed(), T0)
    assert request.status == RequestStatus.PENDING_APPROVAL
    assert request.current_step_index() == 0
    request = decide(request, 0, MANAGER, "approve", "", T0, "link")
    assert request.current_step_index() == 1
    later = T0 + timedelta(hours=2)
    request = decide(request, 1, OFFICER, "approve", "OK", later, "link")
    assert request.status == RequestStatus.APPROVED
    assert request.access_until == later + timedelta(days=90)
    assert request.version == 4


def test_a_refusal_ends_the_request_and_needs_a_comment() -> None:
    request = confirm(filed(), T0)
    with pytest.raises(InvalidDecision) as missing:
        decide(request, 0, MANAGER, "refuse", "   ", T0, "link")
    assert missing.value.code == "comment_required"
    refused = decide(request, 0, MANAGER, "refuse", "Non lié aux fonctions", T0, "link")
    assert refused.status == RequestStatus.REFUSED
    assert refused.steps[1].status == StepStatus.WAITING
    assert not can_transition(refused.status, "approve")


def test_steps_cannot_be_skipped_or_decided_before_confirmation() -> None:
    with pytest.raises(InvalidTransition):
        decide(filed(), 0, MANAGER, "approve", "", T0, "link")
    with pytest.raises(InvalidTransition):
        decide(confirm(filed(), T0), 1, OFFICER, "approve", "", T0, "link")


def test_a_decided_step_says_who_decided_and_when() -> None:
    request = decide(confirm(filed(), T0), 0, MANAGER, "approve", "", T0, "link")
    with pytest.raises(AlreadyDecided) as again:
        decide(request, 0, MANAGER, "refuse", "changed my mind", T0, "link")
    assert (again.value.decided_by, again.value.decided_at) == (MANAGER, T0)


def test_only_listed_approvers_decide_and_never_on_their_own_request() -> None:
    request = confirm(filed(), T0)
    with pytest.raises(NotAnApprover):
        decide(request, 0, OFFICER, "approve", "", T0, "link")
    own = confirm(filed(email=OFFICER), T0)
    own = decide(own, 0, MANAGER, "approve", "", T0, "link")
    with pytest.raises(NotAnApprover):
        decide(own, 1, OFFICER, "approve", "", T0, "link")


def test_confirming_twice_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        confirm(confirm(filed(), T0), T0)


def test_the_content_fingerprint_changes_with_what_is_decided() -> None:
    assert content_hash(filed()) == content_hash(filed())
    assert content_hash(filed()) != content_hash(filed(duration_days="91"))
