"""What time does to a request: reminders, escalation, expiry, the end of a grant.

Each request has at most one next due instant (`next_due`), kept in a sparse index, so the
scheduled job finds what is due with one Query. `due_action` says what is due at an instant;
the transitions below apply it. Pure: the clock and the calendar are passed in.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from .calendar import WorkCalendar
from .errors import InvalidTransition
from .models import AccessRequest, RequestStatus, Step
from .people import same_person
from .policy import Policy
from .review import review_schedule
from .trust import ReviewDue
from .workflow import approvers_for, can_transition


class Due(StrEnum):
    """What a scheduled job may have to do to a request (in order of precedence)."""

    END = "end"
    # Recertification (domain/review.py): an unanswered question ends the grant; the
    # manager is asked before each review period is over.
    REVIEW_LAPSE = "review_lapse"
    ENDING_NOTICE = "ending_notice"
    REVIEW_ASK = "review_ask"
    EXPIRE = "expire"
    ESCALATE = "escalate"
    REMIND = "remind"


def _step_opened(request: AccessRequest, index: int) -> datetime:
    step = request.steps[index]
    if step.opened_at is not None:
        return step.opened_at
    previous = request.steps[index - 1].decided_at if index else request.confirmed_at
    return previous or request.created_at


def escalation_approvers(request: AccessRequest, index: int, policy: Policy) -> tuple[str, ...]:
    """Who would take a waiting step over: the fallback role, minus anyone the duties exclude."""
    step = request.steps[index]
    target = policy.fallback_for(step.role)
    if target is None or step.escalated_at is not None:
        return ()
    deciders = [s.decided_by for s in request.steps if s.decided_by]
    return tuple(
        person
        for person in approvers_for(target, request.content, policy)
        if not any(same_person(person, d) for d in deciders)
    )


def _approval_moments(
    request: AccessRequest, policy: Policy, calendar: WorkCalendar
) -> dict[Due, datetime]:
    delays = policy.rules.lifecycle
    waiting_since = request.confirmed_at or request.created_at
    moments = {
        Due.EXPIRE: calendar.add_working_days(waiting_since, delays.expire_after_working_days)
    }
    index = request.current_step_index()
    if request.status != RequestStatus.PENDING_APPROVAL or index is None:
        return moments
    step = request.steps[index]
    opened = _step_opened(request, index)
    if escalation_approvers(request, index, policy):
        moments[Due.ESCALATE] = calendar.add_working_days(
            opened, delays.escalate_after_working_days
        )
    last_nudge = max((m for m in (step.reminded_at, step.escalated_at) if m), default=None)
    moments[Due.REMIND] = (
        calendar.add_working_days(last_nudge, delays.reminder_every_working_days)
        if last_nudge
        else calendar.add_working_days(opened, delays.reminder_after_working_days)
    )
    return moments


def _grant_moments(
    request: AccessRequest, policy: Policy, calendar: WorkCalendar
) -> dict[Due, datetime]:
    assert request.access_until is not None
    moments = {Due.END: request.access_until}
    notice = request.access_until - timedelta(days=policy.rules.lifecycle.ending_notice_days)
    granted = max((s.decided_at for s in request.steps if s.decided_at), default=None)
    # A grant shorter than the notice period gets no notice (it would come with the approval).
    if request.ending_notice_at is None and granted is not None and notice > granted:
        moments[Due.ENDING_NOTICE] = notice
    review = review_schedule(request, policy.rules.trust, calendar)
    if ReviewDue.LAPSE in review:
        moments[Due.REVIEW_LAPSE] = review[ReviewDue.LAPSE]
    if ReviewDue.ASK in review:
        moments[Due.REVIEW_ASK] = review[ReviewDue.ASK]
    return moments


def due_moments(
    request: AccessRequest, policy: Policy, calendar: WorkCalendar
) -> dict[Due, datetime]:
    """Return when each timed action falls due for a request (empty once it is closed)."""
    if request.status in (RequestStatus.PENDING_CONFIRMATION, RequestStatus.PENDING_APPROVAL):
        return _approval_moments(request, policy, calendar)
    if request.status == RequestStatus.APPROVED and request.access_until is not None:
        return _grant_moments(request, policy, calendar)
    return {}


def next_due(request: AccessRequest, policy: Policy, calendar: WorkCalendar) -> datetime | None:
    """Return the next instant a scheduled job must look at a request, or None."""
    return min(due_moments(request, policy, calendar).values(), default=None)


def due_action(
    request: AccessRequest, policy: Policy, calendar: WorkCalendar, now: datetime
) -> Due | None:
    """Return what is due at `now` (the most final action first), or None."""
    moments = due_moments(request, policy, calendar)
    return next((due for due in Due if due in moments and moments[due] <= now), None)


def _with_step(request: AccessRequest, index: int, step: Step) -> AccessRequest:
    steps = list(request.steps)
    steps[index] = step
    return request.model_copy(update={"steps": tuple(steps), "version": request.version + 1})


def _pending_step(request: AccessRequest) -> int:
    index = request.current_step_index()
    if request.status != RequestStatus.PENDING_APPROVAL or index is None:
        raise InvalidTransition("no step is waiting")
    return index


def remind(request: AccessRequest, now: datetime) -> tuple[AccessRequest, int]:
    """Count one more reminder on the waiting step; return the request and the step."""
    index = _pending_step(request)
    step = request.steps[index]
    reminded = step.model_copy(update={"reminders": step.reminders + 1, "reminded_at": now})
    return _with_step(request, index, reminded), index


def escalate(
    request: AccessRequest, policy: Policy, now: datetime
) -> tuple[AccessRequest, int, tuple[str, ...]]:
    """Hand the waiting step to its role's fallback; return the request, step and new approvers."""
    index = _pending_step(request)
    approvers = escalation_approvers(request, index, policy)
    if not approvers:
        raise InvalidTransition("nobody to escalate to")
    step = request.steps[index]
    escalated = step.model_copy(
        update={
            "approvers": approvers,
            "escalated_at": now,
            "escalated_to": policy.fallback_for(step.role),
            "escalated_from": step.approvers,
        }
    )
    return _with_step(request, index, escalated), index, step.approvers


def expire(request: AccessRequest, now: datetime) -> AccessRequest:
    """Close a request nobody decided in time; its links stop working."""
    if not can_transition(request.status, "expire"):
        raise InvalidTransition(f"cannot expire a request that is {request.status}")
    return request.model_copy(
        update={"status": RequestStatus.EXPIRED, "expired_at": now, "version": request.version + 1}
    )


def note_ending(request: AccessRequest, now: datetime) -> AccessRequest:
    """Record that the requester was told their access ends soon."""
    if request.status != RequestStatus.APPROVED or request.ending_notice_at is not None:
        raise InvalidTransition("no ending notice is due")
    return request.model_copy(update={"ending_notice_at": now, "version": request.version + 1})


def end_grant(request: AccessRequest, now: datetime) -> AccessRequest:
    """Close a grant that reached its end date."""
    if not can_transition(request.status, "end"):
        raise InvalidTransition(f"cannot end a request that is {request.status}")
    return request.model_copy(
        update={"status": RequestStatus.ENDED, "ended_at": now, "version": request.version + 1}
    )
