"""Every duty rule holds for whoever actually decides, deputies included (issue 13, item 6).

One table: who decided the manager step (in person or as a deputy), then who tries a step,
in person or for someone else; the rule that refuses them, or None when they may decide.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.errors import NotAnApprover
from chalicelib.domain.models import AccessRequest
from chalicelib.domain.submission import validate_submission
from chalicelib.domain.workflow import check_duties, confirm, decide, new_request
from tests.conftest import PROJECT_ROOT, valid_form

pytestmark = pytest.mark.unit
POLICY = load_policy(PROJECT_ROOT / "policies")
T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)

REQUESTER = "marie.tremblay@mcn.gouv.qc.ca"
MANAGER = "jean.gestion@mcn.gouv.qc.ca"
MANAGERS_DEPUTY = "adjoint@mcn.gouv.qc.ca"
OFFICER = "securite.demo@mcn.gouv.qc.ca"
OTHER_OFFICER = "rssi.demo@mcn.gouv.qc.ca"
OFFICERS_DEPUTY = "suppleant.securite@mcn.gouv.qc.ca"
WHO = {
    "requester": REQUESTER,
    "manager": MANAGER,
    "manager's deputy": MANAGERS_DEPUTY,
    "officer": OFFICER,
    "other officer": OTHER_OFFICER,
    "officer's deputy": OFFICERS_DEPUTY,
}

# (who decided step 0 [for whom], who tries step 1 [for whom], refusal or None)
SECURITY_STEP = [
    (("manager", None), ("officer", None), None),
    (("manager", None), ("officer's deputy", "officer"), None),
    (("manager's deputy", "manager"), ("officer", None), None),
    (("manager's deputy", "manager"), ("officer's deputy", "officer"), None),
    # The reported case: the manager's deputy decided step 0, the manager decides the
    # security step as an officer's deputy.
    (("manager's deputy", "manager"), ("manager", "officer"), "second_step"),
    (("manager", None), ("manager", "officer"), "second_step"),
    (("manager's deputy", "manager"), ("manager's deputy", "officer"), "second_step"),
    (("manager", None), ("manager's deputy", "officer"), None),
    (("officer", "manager"), ("officer", None), "second_step"),
    (("officer", "manager"), ("officer's deputy", "officer"), "second_step"),
    (("officer", "manager"), ("other officer", None), None),
    (("officer's deputy", "manager"), ("officer's deputy", "officer"), "second_step"),
    (("manager", None), ("requester", "officer"), "self_approval"),
    (("manager's deputy", "manager"), ("requester", "officer"), "self_approval"),
    (("manager", None), ("officer", "requester"), "self_approval"),
    (("manager", None), ("manager's deputy", None), "not_an_approver"),
    (("manager", None), ("officer's deputy", None), "not_an_approver"),
    (("manager", None), ("officer's deputy", "other officer"), None),
]

# Who tries the manager step (nothing decided yet) [for whom], refusal or None.
MANAGER_STEP = [
    (("manager", None), None),
    (("manager's deputy", "manager"), None),
    (("officer", "manager"), None),
    (("requester", None), "self_approval"),
    (("requester", "manager"), "self_approval"),
    (("manager", "requester"), "self_approval"),
    (("manager's deputy", None), "not_an_approver"),
    (("officer's deputy", "officer"), "not_an_approver"),
]


def waiting_request() -> AccessRequest:
    result = validate_submission(valid_form(), POLICY)
    assert result.content is not None
    request = new_request("0123456789abcdef01234567", result.content, POLICY, "fr", T0)
    assert [s.role for s in request.steps] == ["manager", "security"]
    assert request.steps[1].approvers == (OFFICER, OTHER_OFFICER)
    return confirm(request, T0)


def outcome(request: AccessRequest, step: int, decider: str, for_whom: str | None) -> str | None:
    try:
        check_duties(request, step, WHO[decider], WHO[for_whom] if for_whom else None)
    except NotAnApprover as refused:
        return refused.reason
    return None


def label(case: object) -> str:
    return repr(case).replace("'", "")


@pytest.mark.parametrize(("first", "attempt", "refusal"), SECURITY_STEP, ids=label)
def test_the_security_step_applies_every_rule_to_the_actual_decider(
    first: tuple[str, str | None], attempt: tuple[str, str | None], refusal: str | None
) -> None:
    # Given the manager step decided by someone, in person or as a deputy
    decider, for_whom = first
    request = decide(
        waiting_request(), 0, WHO[decider], "approve", "", T0, "link",
        on_behalf_of=WHO[for_whom] if for_whom else None,
    )  # fmt: skip
    # When someone tries the security step; then the rule that refuses them, or none
    assert outcome(request, 1, *attempt) == refusal


@pytest.mark.parametrize(("attempt", "refusal"), MANAGER_STEP, ids=label)
def test_the_manager_step_applies_every_rule_to_the_actual_decider(
    attempt: tuple[str, str | None], refusal: str | None
) -> None:
    assert outcome(waiting_request(), 0, *attempt) == refusal


def test_a_manager_whose_step_went_to_the_fallback_never_decides_the_security_step() -> None:
    # Given a manager step handed to the officers (escalated) and decided by one of them
    request = waiting_request()
    steps = list(request.steps)
    steps[0] = steps[0].model_copy(update={"approvers": (OTHER_OFFICER,)})
    request = decide(
        request.model_copy(update={"steps": tuple(steps)}), 0, OTHER_OFFICER, "approve", "", T0,
        "link",
    )  # fmt: skip
    # Then the manager, who took no part in it, still may not decide the security step for
    # an officer, nor may a deputy of theirs decide it in the manager's name (a stale list)
    assert outcome(request, 1, "manager", "officer") == "manager_later_step"
    steps = list(request.steps)
    steps[1] = steps[1].model_copy(update={"approvers": (*steps[1].approvers, MANAGER)})
    stale = request.model_copy(update={"steps": tuple(steps)})
    assert outcome(stale, 1, "manager's deputy", "manager") == "manager_later_step"
    # while the other officer may, and the one who decided the manager step may not
    assert outcome(request, 1, "officer", None) is None
    assert outcome(request, 1, "other officer", None) == "second_step"
