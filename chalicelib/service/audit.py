"""Audit events that record refusals: what was attempted, by whom, and which rule said no."""

from __future__ import annotations

import logging
from typing import Literal

from ..domain.errors import DomainError
from ..domain.models import AuditEvent, ClientInfo
from .context import Services

log = logging.getLogger(__name__)


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
    event = AuditEvent(
        request_id=request_id,
        event_id=services.new_id(),
        at=services.clock(),
        action=action,
        actor=actor[:254] or "unknown",
        via="link" if request_id else "form",
        step=step,
        reason=reason[:200],
        source_ip=client.source_ip,
        user_agent=client.user_agent,
    )
    try:
        services.store.audit.append(event)
    except DomainError as error:
        log.warning("refused attempt not audited: %s", error)


def transition_event(
    services: Services,
    request_id: str,
    action: Literal["submitted", "confirmed", "approved", "refused"],
    actor: str,
    via: Literal["form", "link", "console"],
    client: ClientInfo,
    *,
    step: int | None = None,
    comment: str | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """Build the audit event written in the same transaction as a state change."""
    return AuditEvent(
        request_id=request_id,
        event_id=services.new_id(),
        at=services.clock(),
        action=action,
        actor=actor,
        via=via,
        step=step,
        comment=comment,
        reason=reason,
        source_ip=client.source_ip,
        user_agent=client.user_agent,
    )
