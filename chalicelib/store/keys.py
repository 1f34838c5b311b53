"""Key formats of the main and audit tables (see docs/data-model.md)."""

from __future__ import annotations

from datetime import datetime


def request_key(request_id: str) -> dict[str, dict[str, str]]:
    """Key of a request item."""
    return {"PK": {"S": f"REQUEST#{request_id}"}, "SK": {"S": "REQUEST"}}


def link_key(token_hash: str) -> dict[str, dict[str, str]]:
    """Key of a link-token item (by the token's SHA-256)."""
    return {"PK": {"S": f"LINK#{token_hash}"}, "SK": {"S": "LINK"}}


def outbox_key(outbox_id: str) -> dict[str, dict[str, str]]:
    """Key of an outbox entry."""
    return {"PK": {"S": f"OUTBOX#{outbox_id}"}, "SK": {"S": "OUTBOX"}}


def requester_index(email: str, created_at: datetime, request_id: str) -> dict[str, dict[str, str]]:
    """Index attributes listing a requester's requests, newest last."""
    return {
        "GSI1PK": {"S": f"REQUESTER#{email}"},
        "GSI1SK": {"S": f"{created_at.isoformat()}#{request_id}"},
    }


def audit_key(request_id: str, at: datetime, event_id: str) -> dict[str, dict[str, str]]:
    """Key of an audit event: the request's events sort by time."""
    return {"PK": {"S": f"REQUEST#{request_id}"}, "SK": {"S": f"{at.isoformat()}#{event_id}"}}


def audit_day_index(at: datetime, request_id: str, event_id: str) -> dict[str, dict[str, str]]:
    """Index attributes listing one day's audit events in time order."""
    return {
        "GSI1PK": {"S": f"DAY#{at.date().isoformat()}"},
        "GSI1SK": {"S": f"{at.isoformat()}#{request_id}#{event_id}"},
    }
