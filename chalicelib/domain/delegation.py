"""Deputies: an approver hands their steps to someone else for a range of days."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from .errors import InvalidDecision, InvalidTransition
from .people import same_person
from .policy import Policy
from .submission import check_address

MAX_DELEGATION_DAYS = 120
# A delegation recorded long ahead is one the approver has forgotten by the time it starts.
MAX_DELEGATION_LEAD_DAYS = 30
# What the form's address check says, as the delegation form's codes (one message each).
_DEPUTY_PROBLEMS = {
    "required": "required",
    "invalid_email": "invalid_email",
    "domain_not_allowed": "deputy_domain",
}


class Delegation(BaseModel):
    """From `starts` to `ends` (inclusive, Québec days), `deputy` decides for `approver`."""

    # Built on first use, not at import (cold start: the form has no delegation).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: str = Field(pattern=r"^[a-z0-9]{8,40}$")
    approver: str = Field(max_length=254)
    deputy: str = Field(max_length=254)
    starts: date
    ends: date
    created_at: datetime
    cancelled_at: datetime | None = None

    def covers(self, day: date) -> bool:
        """Tell whether the delegation is in force on a day (never once cancelled)."""
        return self.cancelled_at is None and self.starts <= day <= self.ends

    def still_ahead(self, day: date) -> bool:
        """Tell whether the delegation is in force or will be (so it can be cancelled)."""
        return self.cancelled_at is None and day <= self.ends


def cancel_delegation(delegation: Delegation, today: date, now: datetime) -> Delegation:
    """Return the delegation cancelled now; one already cancelled or over cannot be."""
    if not delegation.still_ahead(today):
        raise InvalidTransition("the delegation is already cancelled or over")
    return delegation.model_copy(update={"cancelled_at": now})


def new_delegation(
    delegation_id: str,
    approver: str,
    deputy: str,
    starts: date,
    ends: date,
    today: date,
    now: datetime,
    policy: Policy,
) -> Delegation:
    """Check and build a delegation; raise InvalidDecision with a code people can read.

    The deputy passes the very check of the form's addresses: one bare address of an allowed
    domain, so that nothing else (a display name, a second address, a line break) can reach
    the header of the e-mails the deputy is sent.
    """
    deputy, problem = check_address(deputy, policy)
    if problem is not None:
        raise InvalidDecision(_DEPUTY_PROBLEMS[problem])
    if same_person(deputy, approver):
        raise InvalidDecision("deputy_self")
    if ends < starts or starts < today:
        raise InvalidDecision("delegation_dates")
    if (starts - today).days > MAX_DELEGATION_LEAD_DAYS:
        raise InvalidDecision("authority.delegation.starts_too_late")
    if (ends - starts).days > MAX_DELEGATION_DAYS:
        raise InvalidDecision("delegation_too_long")
    return Delegation(
        id=delegation_id, approver=approver, deputy=deputy, starts=starts, ends=ends, created_at=now
    )


def active_delegation(delegations: Iterable[Delegation], day: date) -> Delegation | None:
    """Return the delegation in force on a day (the most recently created wins)."""
    current = [d for d in delegations if d.covers(day)]
    return max(current, key=lambda d: d.created_at) if current else None
