"""The one way an audit event is built: typed by action, with its origin (who, how, from where)."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, Unpack

from .models import AuditAction, AuditEvent, AuditVia, ClientInfo


class EventFields(TypedDict, total=False):
    """What an audit event may say beyond who did what, how and when (each absent: None)."""

    request_id: str | None
    client: ClientInfo | None
    step: int | None
    comment: str | None
    reason: str | None


def audit_event(
    action: AuditAction,
    actor: str,
    via: AuditVia,
    *,
    event_id: str,
    at: datetime,
    **fields: Unpack[EventFields],
) -> AuditEvent:
    """Build an audit event; the id and the time are given (the domain draws neither)."""
    origin = fields.get("client") or ClientInfo()
    return AuditEvent(
        request_id=fields.get("request_id"),
        event_id=event_id,
        at=at,
        action=action,
        actor=actor,
        via=via,
        step=fields.get("step"),
        comment=fields.get("comment"),
        reason=fields.get("reason"),
        source_ip=origin.source_ip,
        user_agent=origin.user_agent,
    )
