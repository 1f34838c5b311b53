"""When the usage-policy campaign and the recertification of long grants act (issue 17).

Pure: the clock and the calendar are passed in. The campaign is driven by service/campaign.py;
the review moments by the grant's next due instant (domain/timers.py, domain/review.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .calendar import WorkCalendar


class TrustRules(BaseModel):
    """`[trust]` in rules.toml: the usage-policy campaign and the recertification delays."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Holders of active grants acknowledge a new usage-policy version within this many
    # working days of the campaign's start, reminded every few working days meanwhile.
    acknowledge_within_working_days: int = Field(default=10, ge=1, le=60)
    acknowledge_reminder_every_working_days: int = Field(default=3, ge=1, le=30)
    # At the deadline, a grant whose holder did not acknowledge ends, or is flagged to the
    # officers (who decide).
    on_no_acknowledgement: Literal["end", "flag"] = "end"
    # A manager asked "is this still needed?" answers within this many working days, or the
    # grant ends (as Entra access reviews do with "remove access" on no response).
    review_answer_within_working_days: int = Field(default=5, ge=1, le=30)
    # The question is asked this many days before each review period is over.
    review_notice_days: int = Field(default=7, ge=1, le=60)

    @model_validator(mode="after")
    def _reminders_before_deadline(self) -> TrustRules:
        if self.acknowledge_reminder_every_working_days >= self.acknowledge_within_working_days:
            raise ValueError("reminders must come before the acknowledgement deadline")
        return self


class CampaignDue(StrEnum):
    """What the campaign may have to do to one grant, most final first."""

    END = "end"
    FLAG = "flag"
    REMIND = "remind"


def acknowledgement_deadline(
    started_at: datetime, rules: TrustRules, calendar: WorkCalendar
) -> datetime:
    """Return the instant a grant holder must have acknowledged the new version by."""
    return calendar.add_working_days(started_at, rules.acknowledge_within_working_days)


def campaign_reminders(
    started_at: datetime, rules: TrustRules, calendar: WorkCalendar
) -> list[datetime]:
    """Return the reminder instants, every N working days, strictly before the deadline."""
    deadline = acknowledgement_deadline(started_at, rules, calendar)
    moments, days = [], rules.acknowledge_reminder_every_working_days
    while (moment := calendar.add_working_days(started_at, days)) < deadline:
        moments.append(moment)
        days += rules.acknowledge_reminder_every_working_days
    return moments


def campaign_due(
    started_at: datetime,
    acknowledged: bool,
    reminders_sent: int,
    rules: TrustRules,
    calendar: WorkCalendar,
    now: datetime,
) -> CampaignDue | None:
    """Return what is due for one grant of the campaign at `now` (None: nothing)."""
    due_at = campaign_next_due(started_at, acknowledged, reminders_sent, rules, calendar)
    if due_at is None or now < due_at:
        return None
    if now >= acknowledgement_deadline(started_at, rules, calendar):
        return CampaignDue.END if rules.on_no_acknowledgement == "end" else CampaignDue.FLAG
    return CampaignDue.REMIND  # the next reminder's moment has come


def campaign_next_due(
    started_at: datetime,
    acknowledged: bool,
    reminders_sent: int,
    rules: TrustRules,
    calendar: WorkCalendar,
) -> datetime | None:
    """Return the next instant the campaign must look at a grant (None once acknowledged)."""
    if acknowledged:
        return None
    later = campaign_reminders(started_at, rules, calendar)[reminders_sent:]
    return later[0] if later else acknowledgement_deadline(started_at, rules, calendar)


class ReviewDue(StrEnum):
    """What recertification may have to do to a grant, most final first."""

    LAPSE = "lapse"
    ASK = "ask"


def review_period_end(granted_at: datetime, kept_at: datetime | None, every_days: int) -> datetime:
    """Return when the current review period ends (from the grant, or the last Keep)."""
    return (kept_at or granted_at) + timedelta(days=every_days)


@dataclass(frozen=True)
class ReviewPeriod:
    """Where a grant's recertification stands: granted, last kept and asked, every N days."""

    granted_at: datetime
    kept_at: datetime | None
    asked_at: datetime | None
    every_days: int


def review_moments(
    period: ReviewPeriod, rules: TrustRules, calendar: WorkCalendar
) -> dict[ReviewDue, datetime]:
    """Return when the manager is asked, and when an unanswered question ends the grant."""
    asked_at, kept_at = period.asked_at, period.kept_at
    if asked_at is not None and (kept_at is None or asked_at > kept_at):
        lapse = calendar.add_working_days(asked_at, rules.review_answer_within_working_days)
        return {ReviewDue.LAPSE: lapse}
    ends = review_period_end(period.granted_at, kept_at, period.every_days)
    ask = max(ends - timedelta(days=rules.review_notice_days), kept_at or period.granted_at)
    return {ReviewDue.ASK: ask}


def review_due(
    granted_at: datetime,
    kept_at: datetime | None,
    asked_at: datetime | None,
    every_days: int,
    rules: TrustRules,
    calendar: WorkCalendar,
    now: datetime,
) -> ReviewDue | None:
    """Return what recertification must do at `now`, if anything."""
    period = ReviewPeriod(granted_at, kept_at, asked_at, every_days)
    moments = review_moments(period, rules, calendar)
    return next((due for due in ReviewDue if due in moments and moments[due] <= now), None)
