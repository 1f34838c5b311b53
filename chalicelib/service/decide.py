"""Decide one approval step from an approver's e-mail link."""

from __future__ import annotations

from datetime import datetime

from ..domain.errors import AlreadyDecided, Conflict
from ..domain.models import (
    AccessRequest,
    AuditEvent,
    ClientInfo,
    Decision,
    LinkKind,
    LinkToken,
    RequestStatus,
    StepStatus,
)
from ..domain.workflow import decide
from .context import Services
from .link_views import open_decision
from .mail import PendingEmail, compose, deliver, issue_link


def _raise_if_decided(request: AccessRequest, step_index: int) -> None:
    step = request.steps[step_index]
    if step.status in (StepStatus.APPROVED, StepStatus.REFUSED):
        assert step.decided_by is not None and step.decided_at is not None
        raise AlreadyDecided(step.decided_by, step.decided_at, step.status.value)


def _follow_ups(
    services: Services, decided: AccessRequest, now: datetime
) -> tuple[list[LinkToken], list[PendingEmail]]:
    """Links and e-mails the decision causes: the next approvers, or the requester's outcome."""
    if decided.status == RequestStatus.PENDING_APPROVAL:
        index = decided.current_step_index()
        assert index is not None
        step = decided.steps[index]
        links, emails = [], []
        for approver in step.approvers:
            url, link = issue_link(
                services, decided, LinkKind.DECIDE, now, step=index, approver=approver
            )
            links.append(link)
            emails.append(
                compose(
                    services,
                    decided,
                    "approval_needed",
                    [approver],
                    ["fr", "en"],
                    now,
                    {"decide_url": url, "step_role": step.role, "link_expires_at": link.expires_at},
                )
            )
        return links, emails
    template = "request_approved" if decided.status == RequestStatus.APPROVED else "request_refused"
    status_url, status_link = issue_link(services, decided, LinkKind.STATUS, now)
    refusal = next((s for s in decided.steps if s.status == StepStatus.REFUSED), None)
    email = compose(
        services,
        decided,
        template,
        [decided.content.email],
        [decided.lang],
        now,
        {"status_url": status_url, "refusal": refusal},
    )
    return [status_link], [email]


def decide_step(
    services: Services, token: str, decision: Decision, comment: str, client: ClientInfo
) -> AccessRequest:
    """Apply the link holder's decision once; a second use or a lost race changes nothing."""
    view = open_decision(services, token)
    link = view.link
    assert link.step is not None and link.approver is not None

    now = services.clock()
    decided = decide(view.request, link.step, link.approver, decision, comment, now, "link")
    links, emails = _follow_ups(services, decided, now)
    event = AuditEvent(
        request_id=decided.id,
        event_id=services.new_id(),
        at=now,
        action="approved" if decision == "approve" else "refused",
        actor=link.approver,
        via="link",
        step=link.step,
        comment=comment.strip() or None,
        source_ip=client.source_ip,
        user_agent=client.user_agent,
    )
    try:
        services.store.apply_transition(
            view.request.version, decided, event, link, now, links, [e.entry for e in emails]
        )
    except Conflict:
        # Someone decided first (or the same link was used twice at once): say who.
        latest = services.store.load_request(decided.id)
        if latest is not None:
            _raise_if_decided(latest, link.step)
        raise
    deliver(services, emails)
    return decided
