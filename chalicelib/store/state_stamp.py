"""Stamp an audit event with the fingerprint of the request item its transaction writes.

Every event passes through the audit log's append with the items of its change; when one of
them is the Put of the event's request, the event carries that item's fingerprint. So no
caller computes it, and none can forget it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..domain.models import AuditEvent
from ..domain.state_fingerprint import request_fingerprint
from . import keys


def request_item_written(
    items: Sequence[dict[str, Any]], main_table: str, request_id: str
) -> dict[str, Any] | None:
    """Return the request item a transaction puts, if it puts one."""
    key = keys.request_key(request_id)
    for write in items:
        put = write.get("Put")
        if put and put.get("TableName") == main_table:
            item = put.get("Item", {})
            if item.get("PK") == key["PK"] and item.get("SK") == key["SK"]:
                return dict(item)
    return None


def with_state(event: AuditEvent, items: Sequence[dict[str, Any]], main_table: str) -> AuditEvent:
    """Return the event with the fingerprint of its request as this change leaves it."""
    if event.request_id is None or event.state is not None:
        return event
    item = request_item_written(items, main_table, event.request_id)
    if item is None:
        return event
    return event.model_copy(update={"state": request_fingerprint(item)})
