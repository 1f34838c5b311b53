"""Cancel a delegation: from the link e-mailed to the approver, or signed in on "my requests".

The cancellation is one transaction (the delegation, the item in force, the burnt link, the
audit event); the approver then gets their own links again for the steps the deputy held.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.delegation import Delegation, cancel_delegation
from ..domain.errors import LinkExpired, LinkUsed, NotFound
from ..domain.models import (
    ClientInfo,
    LinkKind,
    LinkToken,
)
from ..domain.people import same_person
from ..rendering.i18n import LOCAL_ZONE
from ..store.audit import HeadRead
from .audit import new_event
from .context import Services
from .link_views import LinkState, resolve_link
from .mail import PendingEmail, deliver
from .steps import AskedStep, ask_approver, deputy_for, waiting_steps


@dataclass(frozen=True)
class CancelLink:
    """An approver's cancel link that can still act, and the delegation it cancels."""

    link: LinkToken
    delegation: Delegation
    head: HeadRead | None


def _find(services: Services, approver: str, delegation_id: str | None) -> Delegation:
    found = [d for d in services.store.delegations_of(approver) if d.id == delegation_id]
    if not found:
        raise NotFound("delegation")
    return found[0]


def open_cancellation(services: Services, token: str, client: ClientInfo) -> CancelLink:
    """Return the delegation a cancel link may still cancel, or raise why it may not."""
    view = resolve_link(services, token, LinkKind.UNDELEGATE, client)
    assert view.link.approver is not None
    delegation = _find(services, view.link.approver, view.link.delegation_id)
    today = services.clock().astimezone(LOCAL_ZONE).date()
    if view.state == LinkState.USED or delegation.cancelled_at is not None:
        raise LinkUsed("undelegate")
    if view.state == LinkState.EXPIRED or not delegation.still_ahead(today):
        raise LinkExpired("undelegate")
    return CancelLink(link=view.link, delegation=delegation, head=view.head)


def cancel_by_link(services: Services, token: str, client: ClientInfo) -> tuple[Delegation, int]:
    """Cancel the delegation of a cancel link (once); return it and the steps given back."""
    opened = open_cancellation(services, token, client)
    return _cancel(services, opened.delegation, "link", client, opened.link, opened.head)


def cancel_signed_in(
    services: Services, person: str, delegation_id: str, client: ClientInfo
) -> tuple[Delegation, int]:
    """Cancel one of the signed-in person's own delegations; return it and the steps given back."""
    return _cancel(services, _find(services, person, delegation_id), "console", client, None, None)


def my_delegations(services: Services, person: str) -> list[Delegation]:
    """The person's delegations in force or ahead, soonest first (one Query)."""
    today = services.clock().astimezone(LOCAL_ZONE).date()
    mine = [d for d in services.store.delegations_of(person) if d.still_ahead(today)]
    return sorted(mine, key=lambda d: (d.starts, d.created_at))


def _cancel(
    services: Services,
    delegation: Delegation,
    via: str,
    client: ClientInfo,
    link: LinkToken | None,
    head: HeadRead | None,
) -> tuple[Delegation, int]:
    now = services.clock()
    today = now.astimezone(LOCAL_ZONE).date()
    cancelled = cancel_delegation(delegation, today, now)
    event = new_event(
        services,
        "delegation_cancelled",
        delegation.approver,
        "link" if via == "link" else "console",
        at=now,
        client=client,
        reason=f"deputy {delegation.deputy} from {delegation.starts} to {delegation.ends}",
    )
    services.store.cancel_delegation(cancelled, event, link, now, head=head)
    return cancelled, _give_back(services, cancelled)


def _give_back(services: Services, cancelled: Delegation) -> int:
    """Send the approver their own link again for each step the cancelled deputy held.

    The deputy's links stop at once (a deputy link needs its delegation in force); a step
    another delegation of the approver covers stays with that deputy.
    """
    now = services.clock()
    if not cancelled.starts <= now.astimezone(LOCAL_ZONE).date() <= cancelled.ends:
        return 0  # not started yet: nothing was handed over
    if deputy_for(services, cancelled.approver, now) is not None:
        return 0
    given: list[PendingEmail] = []
    for request, step_index in waiting_steps(services, cancelled.approver):
        if any(same_person(s.decided_by or "", cancelled.approver) for s in request.steps):
            continue
        asked = AskedStep(request, step_index, now)
        link, email = ask_approver(services, asked, cancelled.approver)
        services.store.add_links([link], [email.entry])
        given.append(email)
    deliver(services, given)
    return len(given)
