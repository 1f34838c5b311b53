"""Bounces and complaints SES reports after sending: the outbox entry is marked failed."""

from __future__ import annotations

import json
import logging
from typing import Any

from ..notify import metrics
from .context import Services
from .mail import failed_retention

log = logging.getLogger(__name__)


def _reason(event: dict[str, Any]) -> str | None:
    """Say why delivery failed for good, or None for what is not final (a transient bounce)."""
    kind = event.get("eventType") or event.get("notificationType")
    if kind == "Bounce":
        bounce = event.get("bounce", {})
        if bounce.get("bounceType") != "Permanent":
            return None
        return f"bounce: {bounce.get('bounceSubType', 'General')}"
    if kind == "Complaint":
        return "complaint"
    if kind == "Reject":
        return f"rejected: {event.get('reject', {}).get('reason', '')}"
    return None


def record_delivery_event(services: Services, message: str) -> str | None:
    """Mark the outbox entry of a permanent failure as failed; return its id when one was."""
    try:
        event = json.loads(message)
    except ValueError:
        log.warning("delivery event is not JSON; ignored")
        return None
    reason = _reason(event) if isinstance(event, dict) else None
    tags = (event.get("mail") or {}).get("tags") or {} if isinstance(event, dict) else {}
    outbox_ids = tags.get("outbox_id") or []
    if reason is None or not outbox_ids:
        return None
    outbox_id = str(outbox_ids[0])
    now = services.clock()
    if services.store.mark_outbox_failed(outbox_id, reason, now, failed_retention(services)):
        metrics.emit({"FailedEmails": 1}, now)
        return outbox_id
    log.warning("delivery event for an unknown outbox entry; ignored")
    return None
