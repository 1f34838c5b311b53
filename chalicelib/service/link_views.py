"""Resolve an e-mail link to what it is bound to, without changing anything."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..domain.errors import (
    AlreadyDecided,
    InvalidTransition,
    LinkExpired,
    LinkStale,
    LinkUsed,
    NotFound,
)
from ..domain.models import AccessRequest, AuditEvent, LinkKind, LinkToken, RequestStatus
from ..domain.workflow import content_hash
from ..links import token_hash, well_formed
from .context import Services

# What the requester's timeline shows (links opened, sign-ins and the like stay in the console).
TIMELINE_ACTIONS = frozenset(
    {"submitted", "confirmed", "approved", "refused", "revoked", "withdrawn"}
)


class LinkState(StrEnum):
    """What a link can still do."""

    OPEN = "open"
    USED = "used"
    EXPIRED = "expired"
    STALE = "stale"


@dataclass(frozen=True)
class LinkView:
    """A link, its request and what the link can still do."""

    link: LinkToken
    request: AccessRequest
    state: LinkState


def resolve_link(services: Services, token: str, kind: LinkKind) -> LinkView:
    """Find a link of one kind; unknown, forged and other-kind tokens all raise NotFound."""
    if not well_formed(token):
        raise NotFound("link")
    link = services.store.load_link(token_hash(token))
    if link is None or link.kind != kind:
        raise NotFound("link")
    request = services.store.load_request(link.request_id)
    if request is None:
        raise NotFound("request")
    now = services.clock()
    if link.used_at is not None:
        state = LinkState.USED
    elif link.expires_at is not None and now > link.expires_at:
        state = LinkState.EXPIRED
    elif kind == LinkKind.DECIDE and content_hash(request) != link.content_hash:
        state = LinkState.STALE
    else:
        state = LinkState.OPEN
    return LinkView(link=link, request=request, state=state)


def status_timeline(services: Services, token: str) -> tuple[AccessRequest, list[AuditEvent]]:
    """Return a request and its audit timeline for the requester's read-only status link."""
    view = resolve_link(services, token, LinkKind.STATUS)
    events = services.store.events_for(view.request.id)
    return view.request, [e for e in events if e.action in TIMELINE_ACTIONS]


def open_confirmation(services: Services, token: str) -> LinkView:
    """Return a confirmation link that can still be used, or raise why it cannot."""
    view = resolve_link(services, token, LinkKind.CONFIRM)
    if view.state == LinkState.USED:
        raise LinkUsed("confirm")
    if view.state == LinkState.EXPIRED:
        raise LinkExpired("confirm")
    if view.request.status != RequestStatus.PENDING_CONFIRMATION:
        raise InvalidTransition("the request was withdrawn")
    return view


def open_decision(services: Services, token: str) -> LinkView:
    """Return a decision link whose step still waits, or raise why it cannot be used."""
    view = resolve_link(services, token, LinkKind.DECIDE)
    assert view.link.step is not None
    step = view.request.steps[view.link.step]
    if step.decided_by is not None and step.decided_at is not None:
        raise AlreadyDecided(step.decided_by, step.decided_at, step.status.value)
    if view.state == LinkState.EXPIRED:
        raise LinkExpired("decide")
    if view.request.status != RequestStatus.PENDING_APPROVAL:
        raise InvalidTransition("the request was withdrawn")
    if view.state != LinkState.OPEN:
        raise LinkStale("decide")
    return view
