"""The one way an audit event is built: typed by action, with its origin (who, how, from where)."""

from __future__ import annotations

from datetime import datetime

from .models import AuditAction, AuditEvent, AuditVia, ClientInfo


def audit_event(
    action: AuditAction,
    actor: str,
    via: AuditVia,
    *,
    event_id: str,
    at: datetime,
    request_id: str | None = None,
    client: ClientInfo | None = None,
    step: int | None = None,
    comment: str | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """Build an audit event; the id and the time are given (the domain draws neither)."""
    origin = client or ClientInfo()
    return AuditEvent(
        request_id=request_id,
        event_id=event_id,
        at=at,
        action=action,
        actor=actor,
        via=via,
        step=step,
        comment=comment,
        reason=reason,
        source_ip=origin.source_ip,
        user_agent=origin.user_agent,
    )
