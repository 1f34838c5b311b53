"""The request state machine: pure functions from one request state to the next.

Time and ids are passed in; nothing here reads a clock or draws randomness.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from .awareness import Completion
from .errors import AlreadyDecided, InvalidDecision, InvalidTransition, NoApprover, NotAnApprover
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
from .people import same_person
from .policy import MANAGER, Policy
from .text import normalise_text, unsafe_text

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
    (RequestStatus.PENDING_CONFIRMATION, "expire"): frozenset({RequestStatus.EXPIRED}),
    (RequestStatus.PENDING_APPROVAL, "expire"): frozenset({RequestStatus.EXPIRED}),
    (RequestStatus.APPROVED, "end"): frozenset({RequestStatus.ENDED}),
}
MAX_COMMENT_CHARS = 1000


def can_transition(status: RequestStatus, action: str) -> bool:
    """Tell whether an action is allowed from a status."""
    return (status, action) in TRANSITIONS


def content_hash(request: AccessRequest) -> str:
    """Fingerprint what an approver decides on, so a link sent for it refuses changed content."""
    canonical = request.content.model_dump_json().encode("utf-8")
    return hashlib.sha256(b"request-content:" + canonical).hexdigest()


def approvers_for(role: str, content: RequestContent, policy: Policy) -> tuple[str, ...]:
    """Who may decide a step: never the requester, and never the manager on a later step."""
    if role == MANAGER:
        candidates: tuple[str, ...] = (content.manager_email,)
        excluded: tuple[str, ...] = (content.email,)
    else:
        candidates = policy.members_of(role)
        excluded = (content.email, content.manager_email)
    return tuple(c for c in candidates if not any(same_person(c, e) for e in excluded))


def new_request(
    request_id: str,
    content: RequestContent,
    policy: Policy,
    lang: Lang,
    now: datetime,
    trained: Completion | None = None,
) -> AccessRequest:
    """Build a new request, routed by the policy, waiting for e-mail proof.

    Raises NoApprover when the duty rules leave a step with nobody (e.g. the only officer
    filing a request of their own).
    """
    routing = policy.route_for(content.platforms, content.level, trained=trained is not None)
    if routing is None:
        raise InvalidTransition("no route for this request")
    steps = []
    for role in routing.chain:
        approvers = approvers_for(role, content, policy)
        if not approvers:
            raise NoApprover(role)
        steps.append(Step(role=role, approvers=approvers))
    return AccessRequest(
        id=request_id,
        version=1,
        status=RequestStatus.PENDING_CONFIRMATION,
        lang=lang,
        created_at=now,
        content=content,
        chain=routing.chain,
        steps=tuple(steps),
        trained_pass=trained,
        trained_path=routing.trained_path,
        review_every_days=routing.review_every_days,
    )


def check_duties(
    request: AccessRequest,
    step_index: int,
    approver: str,
    on_behalf_of: str | None = None,
    roles: frozenset[str] = frozenset(),
) -> None:
    """Refuse a decider the duty rules exclude; the reason names the rule.

    - nobody decides a step of their own request (whatever address they typed as manager);
    - a deputy acts only for an approver of the step, and is held to the same rules;
    - one person takes part in at most one step of a request: whoever decided another step,
      or had it decided in their name by a deputy, decides no other, in person or as deputy,
      and no deputy decides in their name;
    - the request's manager never decides a later step, neither in person nor as a deputy.

    `roles` are the decider's own roles when signed in (ID token, directory groups, issue 15):
    holding a step's role (never "manager") entitles them in person, as being listed does; the
    other rules apply to them all the same.

    Applied when a decision is made, to the person actually deciding and to the one they act
    for, not only when the approvers of a step are chosen.
    """
    entitled = on_behalf_of or approver
    people = (approver, entitled)
    step = request.steps[step_index]
    if any(same_person(p, request.content.email) for p in people):
        raise NotAnApprover("self_approval")
    by_role = on_behalf_of is None and step.role != MANAGER and step.role in roles
    if not by_role and not any(same_person(entitled, a) for a in step.approvers):
        raise NotAnApprover("not_an_approver")
    for index, other in enumerate(request.steps):
        if index == step_index:
            continue
        took_part = [who for who in (other.decided_by, other.on_behalf_of) if who]
        if any(same_person(p, who) for p in people for who in took_part):
            raise NotAnApprover("second_step")
    if step.role != MANAGER and any(same_person(p, request.content.manager_email) for p in people):
        raise NotAnApprover("manager_later_step")


def confirm(request: AccessRequest, now: datetime) -> AccessRequest:
    """Record that the requester proved the address is theirs; the first step opens."""
    if not can_transition(request.status, "confirm"):
        raise InvalidTransition(f"cannot confirm a request that is {request.status}")
    steps = list(request.steps)
    steps[0] = steps[0].model_copy(update={"status": StepStatus.PENDING, "opened_at": now})
    return request.model_copy(
        update={
            "status": RequestStatus.PENDING_APPROVAL,
            "confirmed_at": now,
            "steps": tuple(steps),
            "version": request.version + 1,
        }
    )


def raise_if_decided(request: AccessRequest, step_index: int) -> None:
    """Raise AlreadyDecided (who, when, outcome) when a step was decided already."""
    step = request.steps[step_index]
    if step.status in (StepStatus.APPROVED, StepStatus.REFUSED):
        assert step.decided_by is not None and step.decided_at is not None
        raise AlreadyDecided(step.decided_by, step.decided_at, step.status.value)


def decide(
    request: AccessRequest,
    step_index: int,
    approver: str,
    decision: Decision,
    comment: str,
    now: datetime,
    via: Via,
    on_behalf_of: str | None = None,
    roles: frozenset[str] = frozenset(),
) -> AccessRequest:
    """Apply one approver's (or their deputy's) decision on one step; the last grants access.

    `roles`: the signed-in decider's roles (see check_duties)."""
    if not 0 <= step_index < len(request.steps):
        raise InvalidTransition("no such step")
    raise_if_decided(request, step_index)
    step = request.steps[step_index]
    if request.status != RequestStatus.PENDING_APPROVAL or step.status != StepStatus.PENDING:
        raise InvalidTransition(f"step {step_index} is not waiting for a decision")
    check_duties(request, step_index, approver, on_behalf_of, roles)
    comment = normalise_text(comment).strip()
    if unsafe_text(comment, multiline=True):
        raise InvalidDecision("invalid_characters")
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
            "on_behalf_of": on_behalf_of,
        }
    )
    update: dict[str, object] = {"version": request.version + 1}
    if decision == "refuse":
        update["status"] = RequestStatus.REFUSED
    elif step_index + 1 < len(steps):
        steps[step_index + 1] = steps[step_index + 1].model_copy(
            update={"status": StepStatus.PENDING, "opened_at": now}
        )
    else:
        update["status"] = RequestStatus.APPROVED
        update["access_until"] = now + timedelta(days=request.content.duration_days)
    update["steps"] = tuple(steps)
    return request.model_copy(update=update)
