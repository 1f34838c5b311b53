"""The request state machine: pure functions from one request state to the next.

Time and ids are passed in; nothing here reads a clock or draws randomness.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from .errors import AlreadyDecided, InvalidDecision, InvalidTransition, NotAnApprover
from .models import (
    AccessRequest,
    Decision,
    Lang,
    RequestContent,
    RequestStatus,
    Step,
    StepStatus,
    Via,
)
from .policy import Policy

# Allowed (status, action) pairs. A decision keeps the request pending until the last step.
TRANSITIONS: dict[tuple[RequestStatus, str], frozenset[RequestStatus]] = {
    (RequestStatus.PENDING_CONFIRMATION, "confirm"): frozenset({RequestStatus.PENDING_APPROVAL}),
    (RequestStatus.PENDING_APPROVAL, "approve"): frozenset(
        {RequestStatus.PENDING_APPROVAL, RequestStatus.APPROVED}
    ),
    (RequestStatus.PENDING_APPROVAL, "refuse"): frozenset({RequestStatus.REFUSED}),
    (RequestStatus.PENDING_CONFIRMATION, "withdraw"): frozenset({RequestStatus.WITHDRAWN}),
    (RequestStatus.PENDING_APPROVAL, "withdraw"): frozenset({RequestStatus.WITHDRAWN}),
    (RequestStatus.APPROVED, "revoke"): frozenset({RequestStatus.REVOKED}),
}
MAX_COMMENT_CHARS = 1000


def can_transition(status: RequestStatus, action: str) -> bool:
    """Tell whether an action is allowed from a status."""
    return (status, action) in TRANSITIONS


def content_hash(request: AccessRequest) -> str:
    """Fingerprint what an approver decides on, so a link sent for it refuses changed content."""
    canonical = request.content.model_dump_json().encode("utf-8")
    return hashlib.sha256(b"request-content:" + canonical).hexdigest()


def new_request(
    request_id: str, content: RequestContent, policy: Policy, lang: Lang, now: datetime
) -> AccessRequest:
    """Build a new request, routed through the policy's chain, waiting for e-mail proof."""
    steps = []
    for role in policy.rules.chain:
        approvers = (content.manager_email,) if role == "manager" else policy.officer_emails()
        steps.append(Step(role=role, approvers=approvers))
    return AccessRequest(
        id=request_id,
        version=1,
        status=RequestStatus.PENDING_CONFIRMATION,
        lang=lang,
        created_at=now,
        content=content,
        chain=policy.rules.chain,
        steps=tuple(steps),
    )


def confirm(request: AccessRequest, now: datetime) -> AccessRequest:
    """Record that the requester proved the address is theirs; the first step opens."""
    if not can_transition(request.status, "confirm"):
        raise InvalidTransition(f"cannot confirm a request that is {request.status}")
    steps = list(request.steps)
    steps[0] = steps[0].model_copy(update={"status": StepStatus.PENDING})
    return request.model_copy(
        update={
            "status": RequestStatus.PENDING_APPROVAL,
            "confirmed_at": now,
            "steps": tuple(steps),
            "version": request.version + 1,
        }
    )


def decide(
    request: AccessRequest,
    step_index: int,
    approver: str,
    decision: Decision,
    comment: str,
    now: datetime,
    via: Via,
) -> AccessRequest:
    """Apply one approver's decision on one step; the last approval grants access."""
    if not 0 <= step_index < len(request.steps):
        raise InvalidTransition("no such step")
    step = request.steps[step_index]
    if step.status in (StepStatus.APPROVED, StepStatus.REFUSED):
        assert step.decided_by is not None and step.decided_at is not None
        raise AlreadyDecided(step.decided_by, step.decided_at, step.status.value)
    if request.status != RequestStatus.PENDING_APPROVAL or step.status != StepStatus.PENDING:
        raise InvalidTransition(f"step {step_index} is not waiting for a decision")
    if approver not in step.approvers:
        raise NotAnApprover("this person does not decide this step")
    if approver == request.content.email:
        raise NotAnApprover("nobody approves their own request")
    comment = comment.strip()
    if decision == "refuse" and not comment:
        raise InvalidDecision("comment_required")
    if len(comment) > MAX_COMMENT_CHARS:
        raise InvalidDecision("comment_too_long")

    steps = list(request.steps)
    steps[step_index] = step.model_copy(
        update={
            "status": StepStatus.APPROVED if decision == "approve" else StepStatus.REFUSED,
            "decided_by": approver,
            "decided_at": now,
            "comment": comment or None,
            "via": via,
        }
    )
    update: dict[str, object] = {"version": request.version + 1}
    if decision == "refuse":
        update["status"] = RequestStatus.REFUSED
    elif step_index + 1 < len(steps):
        steps[step_index + 1] = steps[step_index + 1].model_copy(
            update={"status": StepStatus.PENDING}
        )
    else:
        update["status"] = RequestStatus.APPROVED
        update["access_until"] = now + timedelta(days=request.content.duration_days)
    update["steps"] = tuple(steps)
    return request.model_copy(update=update)
