"""Audit events that record refusals: what was attempted, by whom, and which rule said no."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal, Unpack

from ..domain.audit_events import EventFields, audit_event
from ..domain.errors import DomainError, LimitReached
from ..domain.models import AuditAction, AuditEvent, AuditVia, ClientInfo
from .context import Services

log = logging.getLogger(__name__)
# Who the scheduled jobs act as in the audit log.
SYSTEM_ACTOR = "sesame"


def new_event(
    services: Services,
    action: AuditAction,
    actor: str,
    via: AuditVia,
    *,
    at: datetime | None = None,
    **fields: Unpack[EventFields],
) -> AuditEvent:
    """Build an audit event with an id the services draw, at `at` (default: their clock now)."""
    event_id = services.new_id()  # drawn before the clock is read, as every event always was
    return audit_event(
        action, actor, via, event_id=event_id, at=services.clock() if at is None else at, **fields
    )


def scheduled_event(
    services: Services, action: AuditAction, now: datetime, **fields: Unpack[EventFields]
) -> AuditEvent:
    """Build an audit event of a scheduled job, acting as the system at the run's instant."""
    return new_event(services, action, SYSTEM_ACTOR, "schedule", at=now, **fields)


def refused_attempt(
    services: Services,
    request_id: str | None,
    actor: str,
    reason: str,
    client: ClientInfo,
    *,
    step: int | None = None,
    action: Literal["refused_attempt", "link_limit"] = "refused_attempt",
) -> None:
    """Append a refused attempt to the audit log; the refusal stands even if this fails."""
    event = new_event(
        services,
        action,
        actor[:254] or "unknown",
        "link" if request_id else "form",
        request_id=request_id,
        client=client,
        step=step,
        reason=reason[:200],
    )
    try:
        services.store.audit.append(event)
    except DomainError as error:
        log.warning("refused attempt not audited: %s", error)


def braked_refusal(services: Services, actor: str, reason: str, client: ClientInfo) -> None:
    """Audit an anonymous refused attempt, at most the policy's number per source and hour.

    The source's counter is read first: once it is over the limit the attempt raises
    LimitReached with no write at all. Below it the count rises (conditionally) before the
    audit append; the attempt that crosses the limit writes one summarising event instead
    and raises LimitReached too. So a script cannot fill the audit chain's capacity.
    """
    limit = services.policy.rules.limits.max_refused_attempts_per_hour
    source, now = client.source_ip, services.clock()
    counters = services.store.limits
    if counters.current([("refused", source)], now)[0] > limit:
        raise LimitReached("refused")
    count = counters.count(("refused", source), limit, now)
    if count is None:  # another attempt crossed the limit meanwhile
        raise LimitReached("refused")
    if count > limit:
        refused_attempt(
            services, None, source or "unknown", f"refused_attempts_limit:{limit}", client
        )
        raise LimitReached("refused")
    refused_attempt(services, None, actor, reason, client)
