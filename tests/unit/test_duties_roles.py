"""Holding a step's role (ID token, directory group) entitles a signed-in decider in person.

The duty rules bind them as they bind a listed approver; the manager step is never a role's,
and a deputy acts only for a listed approver.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.errors import NotAnApprover
from chalicelib.domain.models import AccessRequest
from chalicelib.domain.submission import validate_submission
from chalicelib.domain.workflow import check_duties, confirm, decide, new_request
from tests.conftest import PROJECT_ROOT, UNLISTED, valid_form

pytestmark = pytest.mark.unit
POLICY = load_policy(PROJECT_ROOT / "policies")
T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
HOLDER = "detenteur.role@mcn.gouv.qc.ca"  # listed nowhere; the role comes from sign-in
SECURITY = frozenset({"security"})


def at_manager_step(**overrides: object) -> AccessRequest:
    result = validate_submission(valid_form(**overrides), POLICY)
    assert result.content is not None, result.errors
    return confirm(new_request("0123456789abcdef01234567", result.content, POLICY, "fr", T0), T0)


def at_security_step(**overrides: object) -> AccessRequest:
    request = at_manager_step(**overrides)
    manager = request.content.manager_email
    return decide(request, 0, manager, "approve", "", T0, "link")


def test_a_holder_of_the_steps_role_decides_it_though_not_listed() -> None:
    request = at_security_step()
    with pytest.raises(NotAnApprover, match="not_an_approver"):
        check_duties(request, 1, HOLDER)
    decided = decide(request, 1, HOLDER, "approve", "", T0, "console", roles=SECURITY)
    assert decided.steps[1].decided_by == HOLDER


def test_another_role_gives_nothing_and_the_manager_step_is_never_a_roles() -> None:
    request = at_security_step()
    with pytest.raises(NotAnApprover, match="not_an_approver"):
        check_duties(request, 1, HOLDER, roles=frozenset({"communications"}))
    fresh = at_manager_step()
    with pytest.raises(NotAnApprover, match="not_an_approver"):
        check_duties(fresh, 0, HOLDER, roles=frozenset({"manager", "security"}))


def test_the_duty_rules_bind_a_role_holder_too() -> None:
    # The requester holding the role still cannot decide their own request.
    own = at_security_step(email=UNLISTED, manager_email="chef.luc@mcn.gouv.qc.ca")
    with pytest.raises(NotAnApprover, match="self_approval"):
        check_duties(own, 1, UNLISTED, roles=SECURITY)
    # Nor can the manager who decided the first step.
    request = at_security_step()
    with pytest.raises(NotAnApprover, match="second_step"):
        check_duties(request, 1, request.content.manager_email, roles=SECURITY)


def test_a_deputy_acts_only_for_a_listed_approver_not_through_a_role() -> None:
    request = at_security_step()
    with pytest.raises(NotAnApprover, match="not_an_approver"):
        check_duties(request, 1, HOLDER, on_behalf_of="quelquun@mcn.gouv.qc.ca", roles=SECURITY)
