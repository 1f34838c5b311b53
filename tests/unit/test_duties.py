"""Separation of duties: nobody approves their own request or two steps of one request."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.delegation import active_delegation, new_delegation
from chalicelib.domain.errors import InvalidDecision, NoApprover, NotAnApprover
from chalicelib.domain.models import AccessRequest
from chalicelib.domain.people import same_person
from chalicelib.domain.policy import Group, Policy
from chalicelib.domain.submission import validate_submission
from chalicelib.domain.workflow import check_duties, confirm, decide, new_request
from tests.conftest import PROJECT_ROOT, UNLISTED, valid_form

pytestmark = pytest.mark.unit
POLICY = load_policy(PROJECT_ROOT / "policies")
T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
OFFICER_A, OFFICER_B = "securite.demo@mcn.gouv.qc.ca", "rssi.demo@mcn.gouv.qc.ca"


def filed(policy: Policy = POLICY, **overrides: object) -> AccessRequest:
    result = validate_submission(valid_form(**overrides), policy)
    assert result.content is not None, result.errors
    return new_request("0123456789abcdef01234567", result.content, policy, "fr", T0)


def test_addresses_of_one_person_match_despite_case_and_tags() -> None:
    assert same_person("Marie.Tremblay+boss@MCN.gouv.qc.ca", "marie.tremblay@mcn.gouv.qc.ca")
    assert not same_person("marie@mcn.gouv.qc.ca", "marie@autre.gouv.qc.ca")


def test_a_requester_cannot_name_themself_as_manager_even_with_a_tag() -> None:
    result = validate_submission(
        valid_form(email=UNLISTED, manager_email="luc.autre+moi@mcn.gouv.qc.ca"), POLICY
    )
    assert result.errors == {"manager_email": "same_as_requester"}


def test_an_officer_filing_is_routed_to_the_other_officers_only() -> None:
    request = filed(email=OFFICER_A)
    assert request.steps[-1].approvers == (OFFICER_B,)


def test_a_manager_who_is_an_officer_is_not_asked_again_at_the_security_step() -> None:
    request = filed(email=UNLISTED, manager_email=OFFICER_A)
    assert request.steps[-1].approvers == (OFFICER_B,)


def test_the_only_officer_cannot_file_a_request_nobody_else_may_approve() -> None:
    rules = POLICY.rules
    group = Group(id="communications", name_fr="C", name_en="C", members=(OFFICER_A,))
    policy = POLICY.model_copy(update={"rules": rules.model_copy(update={"groups": (group,)})})
    with pytest.raises(NoApprover) as refused:
        filed(policy, email=OFFICER_A, level="publish", justification="x" * 90)
    assert refused.value.role == "communications"


def test_a_publish_request_goes_through_communications() -> None:
    request = filed(level="publish", justification="x" * 90)
    assert [s.role for s in request.steps] == ["manager", "communications", "security"]


@pytest.mark.parametrize(
    ("step", "decider", "reason"),
    [
        (0, "marie.tremblay@mcn.gouv.qc.ca", "self_approval"),
        (0, "someone.else@mcn.gouv.qc.ca", "not_an_approver"),
        (1, "jean.gestion@mcn.gouv.qc.ca", "second_step"),
    ],
)
def test_the_duty_rules_name_why_a_decider_is_refused(step: int, decider: str, reason: str) -> None:
    request = confirm(filed(), T0)
    if step == 1:
        request = decide(request, 0, "jean.gestion@mcn.gouv.qc.ca", "approve", "", T0, "link")
        # A stale list that still names the manager at the security step is caught at decision.
        steps = list(request.steps)
        steps[1] = steps[1].model_copy(update={"approvers": (*steps[1].approvers, decider)})
        request = request.model_copy(update={"steps": tuple(steps)})
    with pytest.raises(NotAnApprover) as refused:
        check_duties(request, step, decider)
    assert refused.value.reason == reason


def test_a_deputy_is_held_to_the_same_rules() -> None:
    request = confirm(filed(), T0)
    with pytest.raises(NotAnApprover) as refused:
        check_duties(
            request, 0, "marie.tremblay@mcn.gouv.qc.ca", on_behalf_of="jean.gestion@mcn.gouv.qc.ca"
        )
    assert refused.value.reason == "self_approval"
    check_duties(request, 0, "adjoint@mcn.gouv.qc.ca", on_behalf_of="jean.gestion@mcn.gouv.qc.ca")
    decided = decide(
        request, 0, "adjoint@mcn.gouv.qc.ca", "approve", "", T0, "link",
        on_behalf_of="jean.gestion@mcn.gouv.qc.ca",
    )  # fmt: skip
    assert decided.steps[0].decided_by == "adjoint@mcn.gouv.qc.ca"
    assert decided.steps[0].on_behalf_of == "jean.gestion@mcn.gouv.qc.ca"


@pytest.mark.parametrize(
    ("deputy", "starts", "ends", "code"),
    [
        ("ami@gmail.com", date(2026, 12, 1), date(2026, 12, 5), "deputy_domain"),
        ("JEAN.gestion@mcn.gouv.qc.ca", date(2026, 12, 1), date(2026, 12, 5), "deputy_self"),
        ("adjoint@mcn.gouv.qc.ca", date(2026, 12, 5), date(2026, 12, 1), "delegation_dates"),
        ("adjoint@mcn.gouv.qc.ca", date(2026, 11, 1), date(2026, 12, 1), "delegation_dates"),
        ("adjoint@mcn.gouv.qc.ca", date(2026, 12, 1), date(2027, 6, 1), "delegation_too_long"),
    ],
)
def test_bad_delegations_are_refused(deputy: str, starts: date, ends: date, code: str) -> None:
    with pytest.raises(InvalidDecision) as refused:
        new_delegation(
            "abcdef0123456789", "jean.gestion@mcn.gouv.qc.ca", deputy, starts, ends,
            date(2026, 11, 30), T0, POLICY,
        )  # fmt: skip
    assert refused.value.code == code


def test_a_delegation_is_in_force_only_within_its_days() -> None:
    delegation = new_delegation(
        "abcdef0123456789", "jean.gestion@mcn.gouv.qc.ca", "adjoint@mcn.gouv.qc.ca",
        date(2026, 12, 1), date(2026, 12, 3), date(2026, 11, 30), T0, POLICY,
    )  # fmt: skip
    assert active_delegation([delegation], date(2026, 11, 30)) is None
    assert active_delegation([delegation], date(2026, 12, 1)) == delegation
    assert active_delegation([delegation], date(2026, 12, 3)) == delegation
    assert active_delegation([delegation], date(2026, 12, 4)) is None
