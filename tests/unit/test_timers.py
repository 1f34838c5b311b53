"""Working days and what falls due when: pure rules, on fixed instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.calendar import WorkCalendar
from chalicelib.domain.models import RequestStatus
from chalicelib.domain.submission import validate_submission
from chalicelib.domain.timers import Due, due_action, escalate, next_due, remind
from chalicelib.domain.workflow import confirm, decide, new_request
from tests.conftest import PROJECT_ROOT, valid_form

pytestmark = pytest.mark.unit
QUEBEC = ZoneInfo("America/Toronto")
POLICY = load_policy(PROJECT_ROOT / "policies")
CALENDAR = WorkCalendar(holidays=frozenset(POLICY.holidays))


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=QUEBEC)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (at(date(2026, 11, 30)), 2, at(date(2026, 12, 2))),  # Monday + 2 = Wednesday
        (at(date(2026, 12, 4)), 1, at(date(2026, 12, 7))),  # Friday + 1 = Monday
        (at(date(2026, 12, 23)), 1, at(date(2026, 12, 29))),  # 24, 25, 28 December are off
        # Saturday afternoon counts from Monday 00:00.
        (at(date(2026, 12, 5), 15), 2, at(date(2026, 12, 9), 0)),
        (at(date(2026, 6, 23)), 1, at(date(2026, 6, 25))),  # Fête nationale
    ],
)
def test_working_days_skip_weekends_and_listed_holidays(
    start: datetime, days: int, expected: datetime
) -> None:
    assert CALENDAR.add_working_days(start, days) == expected.astimezone(UTC)


def test_a_working_day_keeps_its_wall_clock_time_across_a_change_of_time() -> None:
    # Friday 6 March 2026, 10:00 EST; daylight saving starts on Sunday 8 March.
    moved = CALENDAR.add_working_days(at(date(2026, 3, 6)), 1)
    assert moved.astimezone(QUEBEC).hour == 10
    assert moved - at(date(2026, 3, 6)) == timedelta(days=3, hours=-1)


def pending(now: datetime):  # type: ignore[no-untyped-def]
    content = validate_submission(valid_form(), POLICY).content
    assert content is not None
    return confirm(new_request("0123456789abcdef01234567", content, POLICY, "fr", now), now)


def test_what_falls_due_in_order_on_a_waiting_request() -> None:
    monday = at(date(2026, 11, 30))
    request = pending(monday)
    assert next_due(request, POLICY, CALENDAR) == at(date(2026, 12, 2)).astimezone(UTC)
    assert (
        due_action(request, POLICY, CALENDAR, at(date(2026, 12, 2)) - timedelta(seconds=1)) is None
    )
    assert due_action(request, POLICY, CALENDAR, at(date(2026, 12, 2))) == Due.REMIND
    reminded, step = remind(request, at(date(2026, 12, 2)))
    assert step == 0 and reminded.steps[0].reminders == 1
    # The next reminder waits 3 more working days; escalation comes at 6 from the opening.
    assert next_due(reminded, POLICY, CALENDAR) == at(date(2026, 12, 7)).astimezone(UTC)
    assert due_action(reminded, POLICY, CALENDAR, at(date(2026, 12, 8))) == Due.ESCALATE
    handed, _, previous = escalate(reminded, POLICY, at(date(2026, 12, 8)))
    assert previous == ("jean.gestion@mcn.gouv.qc.ca",)
    assert handed.steps[0].approvers == POLICY.officer_emails()
    assert handed.steps[0].escalated_to == "security"
    # Escalated once only; then expiry wins over any reminder at 15 working days.
    assert due_action(handed, POLICY, CALENDAR, at(date(2026, 12, 21))) == Due.EXPIRE
    assert Due.ESCALATE not in {due_action(handed, POLICY, CALENDAR, at(date(2026, 12, 11)))}


def test_a_grant_shorter_than_the_notice_gets_no_notice_only_an_end() -> None:
    now = at(date(2026, 11, 30))
    content = validate_submission(valid_form(duration_days="5"), POLICY).content
    assert content is not None
    request = confirm(new_request("0123456789abcdef01234567", content, POLICY, "fr", now), now)
    request = decide(request, 0, "jean.gestion@mcn.gouv.qc.ca", "approve", "", now, "link")
    request = decide(request, 1, "rssi.demo@mcn.gouv.qc.ca", "approve", "", now, "link")
    assert request.status == RequestStatus.APPROVED
    assert next_due(request, POLICY, CALENDAR) == request.access_until
    assert due_action(request, POLICY, CALENDAR, now + timedelta(days=4)) is None
    assert due_action(request, POLICY, CALENDAR, now + timedelta(days=5)) == Due.END


def test_a_security_step_has_no_fallback_and_is_never_escalated() -> None:
    now = at(date(2026, 11, 30))
    request = pending(now)
    request = decide(request, 0, "jean.gestion@mcn.gouv.qc.ca", "approve", "", now, "link")
    late = at(date(2026, 12, 21))  # 15 working days after Monday 30 November
    moments = {due_action(request, POLICY, CALENDAR, now + timedelta(days=d)) for d in range(20)}
    assert Due.ESCALATE not in moments
    assert due_action(request, POLICY, CALENDAR, late) == Due.EXPIRE
