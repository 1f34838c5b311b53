"""The recertification of long grants (issue 17): the manager keeps the grant, or it ends.

A grant whose route sets `review_every_days` has review periods: from the grant (or the last
Keep) for that many days. Before a period is over the manager is asked "is this still
needed?"; Keep starts a new period, End (or no answer within the policy's delay) ends the
grant. When each moment falls is `trust.review_moments`; the lifecycle job finds them through
the grant's next due instant (domain/timers.py). Pure: the clock and the calendar are passed in.
"""

from __future__ import annotations

from datetime import datetime

from .calendar import WorkCalendar
from .errors import InvalidTransition
from .models import AccessRequest, RequestStatus
from .trust import ReviewDue, ReviewPeriod, TrustRules, review_moments, review_period_end

MANAGER_ROLE = "manager"


def granted_at(request: AccessRequest) -> datetime | None:
    """Return when a request was granted (its last decision), or None."""
    return max((s.decided_at for s in request.steps if s.decided_at), default=None)


def reviewer(request: AccessRequest) -> str:
    """Return who is asked: the one who approved the manager step, else the manager's address.

    A deputy decided on the manager's behalf: the manager is asked. A step handed over after
    the delay was decided by someone else: the manager the request named is asked.
    """
    step = next((s for s in request.steps if s.role == MANAGER_ROLE), None)
    if step is None or step.decided_by is None or step.escalated_to is not None:
        return request.content.manager_email
    return step.on_behalf_of or step.decided_by


def question_open(request: AccessRequest) -> bool:
    """Tell whether the manager was asked and has not answered yet."""
    asked, kept = request.review_asked_at, request.review_kept_at
    return asked is not None and (kept is None or asked > kept)


def review_schedule(
    request: AccessRequest, rules: TrustRules, calendar: WorkCalendar
) -> dict[ReviewDue, datetime]:
    """Return when a grant's manager is asked, or when an open question lapses (else empty).

    Nothing is asked for a period the grant does not outlive: its end comes first anyway.
    """
    granted = granted_at(request)
    every = request.review_every_days
    if request.status != RequestStatus.APPROVED or every is None or granted is None:
        return {}
    if request.access_until is None:
        return {}
    period = ReviewPeriod(granted, request.review_kept_at, request.review_asked_at, every)
    if not question_open(request) and review_period_end(granted, period.kept_at, every) >= (
        request.access_until
    ):
        return {}
    return review_moments(period, rules, calendar)


def answer_by(request: AccessRequest, rules: TrustRules, calendar: WorkCalendar) -> datetime:
    """Return when an open question lapses (the review link expires then too)."""
    moments = review_schedule(request, rules, calendar)
    if ReviewDue.LAPSE not in moments:
        raise InvalidTransition("no review question is open")
    return moments[ReviewDue.LAPSE]


def ask_review(request: AccessRequest, now: datetime) -> AccessRequest:
    """Record that the manager was asked whether the grant is still needed."""
    if request.status != RequestStatus.APPROVED or request.review_every_days is None:
        raise InvalidTransition("no review is due")
    if question_open(request):
        raise InvalidTransition("the manager was asked already")
    return request.model_copy(update={"review_asked_at": now, "version": request.version + 1})


def keep_grant(request: AccessRequest, now: datetime) -> AccessRequest:
    """Record the manager's Keep: a new review period starts now."""
    if request.status != RequestStatus.APPROVED or not question_open(request):
        raise InvalidTransition("no review question is open")
    return request.model_copy(update={"review_kept_at": now, "version": request.version + 1})
