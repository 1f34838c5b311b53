"""Confirm a request from the requester's e-mail link; the manager is asked only then."""

from __future__ import annotations

from ..domain.errors import Conflict, LinkUsed
from ..domain.models import AccessRequest, AuditEvent, ClientInfo, LinkKind
from ..domain.workflow import confirm
from .context import Services
from .link_views import open_confirmation
from .mail import compose, deliver, issue_link


def confirm_request(services: Services, token: str, client: ClientInfo) -> AccessRequest:
    """Record the requester's confirmation and e-mail the manager an approval link."""
    view = open_confirmation(services, token)

    now = services.clock()
    confirmed = confirm(view.request, now)
    manager_step = confirmed.steps[0]
    manager = manager_step.approvers[0]
    decide_url, decide_link = issue_link(
        services, confirmed, LinkKind.DECIDE, now, step=0, approver=manager
    )
    email = compose(
        services,
        confirmed,
        "approval_needed",
        [manager],
        ["fr", "en"],
        now,
        {
            "decide_url": decide_url,
            "step_role": manager_step.role,
            "link_expires_at": decide_link.expires_at,
        },
    )
    event = AuditEvent(
        request_id=confirmed.id,
        event_id=services.new_id(),
        at=now,
        action="confirmed",
        actor=confirmed.content.email,
        via="link",
        source_ip=client.source_ip,
        user_agent=client.user_agent,
    )
    try:
        services.store.apply_transition(
            view.request.version, confirmed, event, view.link, now, [decide_link], [email.entry]
        )
    except Conflict:
        raise LinkUsed("confirm") from None
    deliver(services, [email])
    return confirmed
