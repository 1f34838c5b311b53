"""What may happen to a request outside the approval chain: withdrawal and revocation.

Pure, like the workflow: time is passed in.
"""

from __future__ import annotations

from datetime import datetime

from .errors import InvalidDecision, InvalidTransition, NotAnApprover
from .models import AccessRequest, RequestStatus
from .workflow import can_transition

MAX_REASON_CHARS = 1000


def withdraw(request: AccessRequest, person: str, now: datetime) -> AccessRequest:
    """The requester takes back a request that is not decided yet."""
    if person != request.content.email:
        raise NotAnApprover("only the requester withdraws a request")
    if not can_transition(request.status, "withdraw"):
        raise InvalidTransition(f"cannot withdraw a request that is {request.status}")
    return request.model_copy(
        update={
            "status": RequestStatus.WITHDRAWN,
            "withdrawn_at": now,
            "version": request.version + 1,
        }
    )


def is_active_grant(request: AccessRequest, now: datetime) -> bool:
    """Tell whether a request gives access right now (approved, not past its end)."""
    return (
        request.status == RequestStatus.APPROVED
        and request.access_until is not None
        and now < request.access_until
    )


def revoke(request: AccessRequest, officer: str, reason: str, now: datetime) -> AccessRequest:
    """A security officer ends an active grant before its end date; the reason is required."""
    if not is_active_grant(request, now):
        raise InvalidTransition("only an active grant can be revoked")
    reason = reason.strip()
    if not reason:
        raise InvalidDecision("reason_required")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidDecision("reason_too_long")
    return request.model_copy(
        update={
            "status": RequestStatus.REVOKED,
            "revoked_at": now,
            "revoked_by": officer,
            "revocation_reason": reason,
            "version": request.version + 1,
        }
    )
