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


def audit_key(
    request_id: str | None, actor: str, at: datetime, event_id: str
) -> dict[str, dict[str, str]]:
    """Key of an audit event: a request's events (or an actor's, outside any request) by time."""
    subject = f"REQUEST#{request_id}" if request_id else f"ACTOR#{actor}"
    return {"PK": {"S": subject}, "SK": {"S": f"{at.isoformat()}#{event_id}"}}


def audit_day_index(
    at: datetime, request_id: str | None, event_id: str
) -> dict[str, dict[str, str]]:
    """Index attributes listing one day's audit events in time order."""
    return {
        "GSI1PK": {"S": f"DAY#{at.date().isoformat()}"},
        "GSI1SK": {"S": f"{at.isoformat()}#{request_id or '-'}#{event_id}"},
    }


def open_requests_key(person: str) -> dict[str, dict[str, str]]:
    """Key of the counter of a requester's open requests."""
    return {"PK": {"S": f"LIMIT#{person}"}, "SK": {"S": "OPEN"}}


def hourly_submissions_key(person: str, at: datetime) -> dict[str, dict[str, str]]:
    """Key of the counter of a requester's submissions in one clock hour (UTC)."""
    return {"PK": {"S": f"LIMIT#{person}"}, "SK": {"S": f"HOUR#{at:%Y-%m-%dT%H}"}}


def invalid_links_key(source: str, at: datetime) -> dict[str, dict[str, str]]:
    """Key of the counter of unknown or forged links tried from one source in one hour."""
    return {"PK": {"S": f"BADLINK#{source or 'unknown'}"}, "SK": {"S": f"HOUR#{at:%Y-%m-%dT%H}"}}


def assignment_key(person: str, request_id: str, step: int) -> dict[str, dict[str, str]]:
    """Key of "this step waits for this approver" (a Query lists an approver's pending steps)."""
    return {"PK": {"S": f"ASSIGN#{person}"}, "SK": {"S": f"{request_id}#{step:02d}"}}


def delegation_key(person: str, starts: str, delegation_id: str) -> dict[str, dict[str, str]]:
    """Key of a delegation (a Query lists an approver's delegations)."""
    return {"PK": {"S": f"DELEGATION#{person}"}, "SK": {"S": f"{starts}#{delegation_id}"}}
