"""The scheduled lifecycle job: reminders, escalations, expiries, ending notices, grant ends,
and the recertification of long grants (service/review.py).

One Query on the DueRequests index finds what is due; each request found gets one
transaction conditioned on the version read (with its audit event and its outbox entries),
so two runs at the same instant act once: the second meets a changed version and skips.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..domain.errors import Conflict, DomainError
from ..domain.models import AccessRequest, AuditEvent, LinkKind, LinkToken
from ..domain.timers import (
    Due,
    due_action,
    end_grant,
    escalate,
    expire,
    note_ending,
    remind,
)
from .audit import scheduled_event
from .context import Services, work_calendar
from .mail import PendingEmail, access_ended, compose, deliver, issue_link, to_requester
from .review import ask as ask_review
from .review import lapse as review_lapse
from .steps import open_step

log = logging.getLogger(__name__)
BATCH = 100
# A run stops after this many pages; what is left is due again at the next run.
MAX_PAGES = 10
Change = tuple[AccessRequest, AuditEvent, list[LinkToken], list[PendingEmail]]


def _to_requester(
    services: Services,
    request: AccessRequest,
    template: str,
    now: datetime,
    renew: bool,
    extra: Mapping[str, Any] | None = None,
) -> tuple[list[LinkToken], PendingEmail]:
    """An e-mail to the requester with their status link (and a renewal link when asked)."""
    status_url, status_link = issue_link(services, request, LinkKind.STATUS, now)
    links = [status_link]
    context: dict[str, Any] = {**(extra or {}), "status_url": status_url, "renew_url": None}
    if renew:
        renew_url, renew_link = issue_link(services, request, LinkKind.RENEW, now)
        links.append(renew_link)
        context["renew_url"] = renew_url
    email = to_requester(services, request, template, now, context)
    return links, email


def _remind(services: Services, request: AccessRequest, now: datetime) -> Change:
    reminded, index = remind(request, now)
    step = reminded.steps[index]
    nudge = {"kind": "reminder", "count": step.reminders, "since": step.opened_at}
    links, emails = open_step(services, reminded, index, now, nudge=nudge)
    event = scheduled_event(
        services,
        "reminded",
        now,
        request_id=reminded.id,
        step=index,
        reason=f"reminder {step.reminders}",
    )
    return reminded, event, links, emails


def _escalate(services: Services, request: AccessRequest, now: datetime) -> Change:
    escalated, index, previous = escalate(request, services.policy, now)
    step = escalated.steps[index]
    nudge = {"kind": "escalated", "previous": previous, "since": step.opened_at}
    links, emails = open_step(services, escalated, index, now, nudge=nudge)
    context = {"step_role": step.role, "new_role": step.escalated_to, "since": step.opened_at}
    emails.append(
        compose(services, escalated, "step_escalated", list(previous), ["fr", "en"], now, context)
    )
    status_links, to_requester = _to_requester(
        services, escalated, "request_escalated", now, False, context
    )
    event = scheduled_event(
        services,
        "escalated",
        now,
        request_id=escalated.id,
        step=index,
        reason=f"{step.role} to {step.escalated_to}: {', '.join(previous)}"[:200],
    )
    return escalated, event, [*links, *status_links], [*emails, to_requester]


def _expire(services: Services, request: AccessRequest, now: datetime) -> Change:
    expired = expire(request, now)
    links, email = _to_requester(services, expired, "request_expired", now, True)
    event = scheduled_event(services, "expired", now, request_id=expired.id)
    return expired, event, links, [email]


def _notice(services: Services, request: AccessRequest, now: datetime) -> Change:
    noticed = note_ending(request, now)
    links, email = _to_requester(services, noticed, "access_ending", now, True)
    event = scheduled_event(services, "ending_notice", now, request_id=noticed.id)
    return noticed, event, links, [email]


def _end(services: Services, request: AccessRequest, now: datetime) -> Change:
    ended = end_grant(request, now)
    links, emails = access_ended(services, ended, now)
    event = scheduled_event(services, "ended", now, request_id=ended.id)
    return ended, event, links, emails


ACTIONS: dict[Due, Callable[[Services, AccessRequest, datetime], Change]] = {
    Due.REMIND: _remind,
    Due.ESCALATE: _escalate,
    Due.EXPIRE: _expire,
    Due.ENDING_NOTICE: _notice,
    Due.END: _end,
    Due.REVIEW_LAPSE: review_lapse,
    Due.REVIEW_ASK: ask_review,
}


def run_timed_jobs(services: Services) -> dict[str, int]:
    """Act on every request that is due now; return how many of each action were taken."""
    now = services.clock()
    calendar = work_calendar(services.policy)
    done: Counter[str] = Counter()
    start = None
    for _ in range(MAX_PAGES):
        due, start = services.store.due_requests(now, BATCH, start)
        for request in due:
            action = due_action(request, services.policy, calendar, now)
            if action is None:
                # The policy changed since the due date was stored: store the new one.
                services.store.refresh_due(request)
                done["rescheduled"] += 1
                continue
            try:
                changed, event, links, emails = ACTIONS[action](services, request, now)
                services.store.apply_transition(
                    request, changed, event, None, now, links, [e.entry for e in emails]
                )
            except Conflict:
                done["skipped"] += 1  # another run (or a person) changed it first
                continue
            except DomainError as error:
                log.warning("timed job on %s failed: %s", request.id, error)
                done["failed"] += 1
                continue
            deliver(services, emails)
            done[action.value] += 1
        if start is None:
            break
    return {
        key: done.get(key, 0)
        for key in (*(d.value for d in Due), "skipped", "rescheduled", "failed")
    }
