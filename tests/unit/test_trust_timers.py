"""Pure timing of the usage-policy campaign and of recertification (issue 17, item 4)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.calendar import WorkCalendar
from chalicelib.domain.trust import (
    CampaignDue,
    ReviewDue,
    TrustRules,
    acknowledgement_deadline,
    campaign_due,
    campaign_next_due,
    campaign_reminders,
    review_due,
)
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit
QUEBEC = ZoneInfo("America/Toronto")
MONDAY = datetime(2027, 2, 1, 9, 0, tzinfo=QUEBEC)  # no holiday in the next three weeks
CALENDAR = WorkCalendar()
RULES = load_policy(PROJECT_ROOT / "policies").rules.trust


def test_the_shipped_policy_ends_unacknowledged_grants_after_ten_working_days() -> None:
    assert RULES.on_no_acknowledgement == "end"
    deadline = acknowledgement_deadline(MONDAY, RULES, CALENDAR)
    assert deadline == datetime(2027, 2, 15, 9, 0, tzinfo=QUEBEC)  # two weeks, weekends skipped
    assert campaign_reminders(MONDAY, RULES, CALENDAR) == [
        datetime(2027, 2, 4, 9, 0, tzinfo=QUEBEC),
        datetime(2027, 2, 9, 9, 0, tzinfo=QUEBEC),
        datetime(2027, 2, 12, 9, 0, tzinfo=QUEBEC),
    ]


def test_a_holder_is_reminded_then_loses_the_grant_at_the_deadline() -> None:
    def due(now: datetime, sent: int) -> CampaignDue | None:
        return campaign_due(MONDAY, False, sent, RULES, CALENDAR, now)

    assert due(datetime(2027, 2, 4, 8, 59, tzinfo=QUEBEC), 0) is None
    assert due(datetime(2027, 2, 4, 9, 0, tzinfo=QUEBEC), 0) == CampaignDue.REMIND
    assert due(datetime(2027, 2, 4, 9, 0, tzinfo=QUEBEC), 1) is None
    assert due(datetime(2027, 2, 15, 8, 59, tzinfo=QUEBEC), 3) is None
    assert due(datetime(2027, 2, 15, 9, 0, tzinfo=QUEBEC), 3) == CampaignDue.END
    assert campaign_next_due(MONDAY, False, 3, RULES, CALENDAR) == datetime(
        2027, 2, 15, 9, 0, tzinfo=QUEBEC
    )


def test_one_who_acknowledged_keeps_it_and_a_flag_policy_flags_instead() -> None:
    late = MONDAY + timedelta(days=60)
    assert campaign_due(MONDAY, True, 0, RULES, CALENDAR, late) is None
    assert campaign_next_due(MONDAY, True, 0, RULES, CALENDAR) is None
    flagging = RULES.model_copy(update={"on_no_acknowledgement": "flag"})
    assert campaign_due(MONDAY, False, 3, flagging, CALENDAR, late) == CampaignDue.FLAG


def test_reminders_must_come_before_the_deadline() -> None:
    with pytest.raises(ValidationError):
        TrustRules(acknowledge_within_working_days=3, acknowledge_reminder_every_working_days=3)


def test_the_manager_is_asked_before_the_period_ends_and_silence_ends_the_grant() -> None:
    granted = MONDAY

    def due(now: datetime, kept: datetime | None = None, asked: datetime | None = None) -> object:
        return review_due(granted, kept, asked, 30, RULES, CALENDAR, now)

    ask_at = granted + timedelta(days=23)  # 30 days, asked 7 days before
    assert due(ask_at - timedelta(seconds=1)) is None
    assert due(ask_at) == ReviewDue.ASK
    # Asked on Wednesday 24 February at 9:00: five working days to answer.
    lapse_at = datetime(2027, 3, 3, 9, 0, tzinfo=QUEBEC)
    assert due(lapse_at - timedelta(seconds=1), asked=ask_at) is None
    assert due(lapse_at, asked=ask_at) == ReviewDue.LAPSE
    # Keep: a new period starts from the answer; the old question no longer counts.
    kept = ask_at + timedelta(days=1)
    assert due(lapse_at, kept=kept, asked=ask_at) is None
    assert due(kept + timedelta(days=23), kept=kept, asked=ask_at) == ReviewDue.ASK
