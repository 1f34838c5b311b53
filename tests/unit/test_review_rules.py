"""Recertification of a long grant as the lifecycle sees it (issue 17, item 4): when the
manager is asked, who is asked, and what Keep and the silence do (pure, no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.calendar import WorkCalendar
from chalicelib.domain.errors import InvalidTransition
from chalicelib.domain.models import AccessRequest
from chalicelib.domain.review import ask_review, keep_grant, reviewer
from chalicelib.domain.submission import validate_submission
from chalicelib.domain.timers import Due, due_action, due_moments, end_grant
from chalicelib.domain.workflow import confirm, decide, new_request
from tests.conftest import PROJECT_ROOT, valid_form

pytestmark = pytest.mark.unit
POLICY = load_policy(PROJECT_ROOT / "policies")
CALENDAR = WorkCalendar(holidays=frozenset(POLICY.holidays))
GRANTED = datetime(2027, 2, 1, 15, 0, tzinfo=UTC)  # a Monday
MANAGER = "jean.gestion@mcn.gouv.qc.ca"
PUBLISH = "Je publie au nom du ministère les annonces du programme et je réponds aux citoyens."


def granted(days: int = 90, deputy: str | None = None) -> AccessRequest:
    """A publish grant (reviewed every 30 days in the shipped policy), approved at GRANTED."""
    form = valid_form(level="publish", justification=PUBLISH, duration_days=str(days))
    content = validate_submission(form, POLICY).content
    assert content is not None
    request = confirm(
        new_request("0123456789abcdef01234567", content, POLICY, "fr", GRANTED), GRANTED
    )
    for index, step in enumerate(request.steps):
        approver = deputy if (deputy and step.role == "manager") else step.approvers[0]
        behalf = MANAGER if (deputy and step.role == "manager") else None
        request = decide(request, index, approver, "approve", "", GRANTED, "link", behalf)
    assert request.review_every_days == 30
    return request


def test_the_manager_is_asked_seven_days_before_the_period_ends_then_silence_ends_it() -> None:
    grant = granted()
    ask = GRANTED + timedelta(days=23)
    assert due_moments(grant, POLICY, CALENDAR)[Due.REVIEW_ASK] == ask
    assert due_action(grant, POLICY, CALENDAR, ask - timedelta(seconds=1)) is None
    assert due_action(grant, POLICY, CALENDAR, ask) == Due.REVIEW_ASK
    asked = ask_review(grant, ask)
    with pytest.raises(InvalidTransition):
        ask_review(asked, ask)  # asked once per period
    # Wednesday 24 February + 5 working days = Wednesday 3 March.
    lapse = datetime(2027, 3, 3, 15, 0, tzinfo=UTC)
    assert due_moments(asked, POLICY, CALENDAR)[Due.REVIEW_LAPSE] == lapse
    assert Due.REVIEW_ASK not in due_moments(asked, POLICY, CALENDAR)
    assert due_action(asked, POLICY, CALENDAR, lapse) == Due.REVIEW_LAPSE


def test_keep_starts_a_new_period_and_an_ended_grant_is_not_reviewed() -> None:
    asked = ask_review(granted(), GRANTED + timedelta(days=23))
    kept_at = GRANTED + timedelta(days=25)
    kept = keep_grant(asked, kept_at)
    with pytest.raises(InvalidTransition):
        keep_grant(kept, kept_at)  # no question open any more
    moments = due_moments(kept, POLICY, CALENDAR)
    assert moments[Due.REVIEW_ASK] == kept_at + timedelta(days=23)
    assert Due.REVIEW_LAPSE not in moments
    ended = end_grant(asked, kept_at)
    assert due_moments(ended, POLICY, CALENDAR) == {}
    with pytest.raises(InvalidTransition):
        keep_grant(ended, kept_at)


def test_a_grant_that_ends_before_its_first_period_is_over_is_never_asked() -> None:
    short = granted(days=30)
    assert Due.REVIEW_ASK not in due_moments(short, POLICY, CALENDAR)
    assert Due.REVIEW_ASK in due_moments(granted(days=31), POLICY, CALENDAR)


def test_the_manager_is_asked_even_when_a_deputy_approved_for_them() -> None:
    assert reviewer(granted()) == MANAGER
    assert reviewer(granted(deputy="adjointe.gestion@mcn.gouv.qc.ca")) == MANAGER


def test_a_review_period_no_longer_than_its_notice_is_refused() -> None:
    # Asked 7 days before a 7-day period ends, the manager would be asked again at each Keep.
    from pydantic import ValidationError

    from chalicelib.domain.policy import Rules

    rules = POLICY.rules.model_dump()
    rules["routes"][0]["review_every_days"] = 7
    with pytest.raises(ValidationError, match=r"routes\[0\].review_every_days must be longer"):
        Rules.model_validate(rules)
    rules["routes"][0]["review_every_days"] = 8
    assert Rules.model_validate(rules).routes[0].review_every_days == 8
