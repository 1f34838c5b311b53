"""Resolve an e-mail link to what it is bound to, without changing anything."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ..domain import errors
from ..domain.delegation import Delegation
from ..domain.models import (
    AccessRequest,
    AuditEvent,
    ClientInfo,
    Lang,
    LinkKind,
    LinkToken,
    RequestStatus,
)
from ..domain.people import same_person
from ..domain.workflow import content_hash, raise_if_decided
from ..store.audit import HeadRead
from .audit import refused_attempt
from .context import Services
from .links import link_request_id, link_well_formed, token_hash
from .steps import deputy_for, deputy_may_decide

# What the requester's timeline shows (links opened, sign-ins and the like stay in the console).
TIMELINE_ACTIONS = frozenset(
    {
        "submitted",
        "confirmed",
        "approved",
        "refused",
        "revoked",
        "withdrawn",
        "escalated",
        "expired",
        "ended",
        "review_kept",
    }
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
    # Read with the link for the change it may lead to (None for a status link).
    head: HeadRead | None = None
    delegations: tuple[Delegation, ...] | None = None
    # Each person's chosen language, read with the link ({} for a status link).
    langs: Mapping[str, Lang] = field(default_factory=dict)


def _unknown_link(services: Services, client: ClientInfo, tried: int) -> errors.DomainError:
    """Count an unknown or forged link against its source, and audit it.

    `tried` is the source's count read with the link. Every attempt up to the source's hourly
    limit is audited (a bounded number per source); crossing the limit is audited once more
    (the summary); past it the source's unknown links get 429 from that read alone, with no
    write. Real links never reach here: they keep working whoever guessed from the source.
    """
    limit = services.policy.rules.limits.max_invalid_links_per_hour
    if tried > limit:
        return errors.LimitReached("links")
    count = services.store.count_invalid_link(client.source_ip, services.clock(), limit)
    if count is None:  # another attempt crossed the limit meanwhile
        return errors.LimitReached("links")
    if count <= limit:
        refused_attempt(services, None, client.source_ip or "unknown", "unknown_link", client)
    if count == limit + 1:
        refused_attempt(
            services,
            None,
            client.source_ip or "unknown",
            "invalid_links",
            client,
            action="link_limit",
        )
    return errors.NotFound("link")


def resolve_link(
    services: Services, token: str, kind: LinkKind, client: ClientInfo | None = None
) -> LinkView:
    """Find a link of one kind; unknown, forged and other-kind tokens all raise NotFound.

    A source that tried too many unknown links this hour gets LimitReached for its unknown
    and forged tokens only: a valid link always works, so one person's typos or a mail
    scanner's stale links never lock out everyone behind the same egress address.

    One read: the source's counter, the link and its request (the token names it), plus for a
    confirmation or decision link the audit chain's head and the delegations in force, which
    the change that follows needs. Every link Sésame sent names its request: a token without
    a request id is unknown, like any other.
    """
    client = client or ClientInfo()
    now = services.clock()
    request_id = link_request_id(token) if link_well_formed(token) else None
    if request_id is None:
        # Nothing to look up: only the counter is read.
        raise _unknown_link(services, client, services.store.invalid_links(client.source_ip, now))
    changes = kind != LinkKind.STATUS
    read = services.store.read_for_link(
        client.source_ip, now, token_hash(token), request_id, head=changes, delegations=changes
    )
    link = read.link
    if link is None or link.kind != kind or link.request_id != request_id:
        raise _unknown_link(services, client, read.invalid_links)
    request = read.request
    if request is None:
        raise errors.NotFound("request")
    if link.used_at is not None:
        state = LinkState.USED
    elif link.expires_at is not None and now > link.expires_at:
        state = LinkState.EXPIRED
    elif kind == LinkKind.DECIDE and content_hash(request) != link.content_hash:
        state = LinkState.STALE
    else:
        state = LinkState.OPEN
    return LinkView(
        link=link,
        request=request,
        state=state,
        head=read.head,
        delegations=read.delegations,
        langs=read.langs,
    )


def status_timeline(
    services: Services, token: str, client: ClientInfo
) -> tuple[AccessRequest, list[AuditEvent]]:
    """Return a request and its audit timeline for the requester's read-only status link."""
    view = resolve_link(services, token, LinkKind.STATUS, client)
    events = services.store.events_for(view.request.id)
    return view.request, [e for e in events if e.action in TIMELINE_ACTIONS]


def open_confirmation(services: Services, token: str, client: ClientInfo) -> LinkView:
    """Return a confirmation link that can still be used, or raise why it cannot."""
    view = resolve_link(services, token, LinkKind.CONFIRM, client)
    if view.request.status == RequestStatus.WITHDRAWN:
        raise errors.Withdrawn("confirm")
    if view.request.status == RequestStatus.EXPIRED:
        raise errors.RequestExpired("confirm")
    if view.state == LinkState.USED:
        raise errors.LinkUsed("confirm")
    if view.state == LinkState.EXPIRED:
        raise errors.LinkExpired("confirm")
    if view.request.status != RequestStatus.PENDING_CONFIRMATION:
        raise errors.InvalidTransition("the request was withdrawn")
    return view


def _raise_if_closed(request: AccessRequest, link: LinkToken) -> None:
    """Refuse a decision link of an expired request, or of an approver a step was taken from."""
    if request.status == RequestStatus.EXPIRED:
        raise errors.RequestExpired("decide")
    assert link.step is not None and link.approver is not None
    step = request.steps[link.step]
    entitled = link.on_behalf_of or link.approver
    if step.escalated_to and not any(same_person(entitled, a) for a in step.approvers):
        raise errors.Escalated(step.escalated_to)


def open_decision(services: Services, token: str, client: ClientInfo) -> LinkView:
    """Return a decision link whose step still waits, or raise why it cannot be used."""
    return usable_decision(services, resolve_link(services, token, LinkKind.DECIDE, client))


def usable_decision(services: Services, view: LinkView) -> LinkView:
    """Return a resolved decision link if it can still decide its step, else raise why not.

    Current means: not used, not expired, not sent for other content, its step still waiting
    and not handed to a deputy. Deciding and naming a deputy both need it.
    """
    assert view.link.step is not None and view.link.approver is not None
    raise_if_decided(view.request, view.link.step)
    _raise_if_closed(view.request, view.link)
    if view.link.on_behalf_of is not None:
        # A deputy's link works only while their delegation is in force (not cancelled).
        held = deputy_for(services, view.link.on_behalf_of, services.clock(), view.delegations)
        if held is None or not same_person(held.deputy, view.link.approver):
            raise errors.LinkExpired("decide")
    else:
        delegation = deputy_for(services, view.link.approver, services.clock(), view.delegations)
        # A deputy the duty rules exclude from this step was never handed it: the approver
        # keeps deciding it from their own link.
        if delegation is not None and deputy_may_decide(view.request, view.link.step, delegation):
            raise errors.Delegated(delegation.deputy, delegation.ends)
    if view.state == LinkState.EXPIRED:
        raise errors.LinkExpired("decide")
    if view.request.status == RequestStatus.WITHDRAWN:
        raise errors.Withdrawn("decide")
    if view.request.status != RequestStatus.PENDING_APPROVAL:
        raise errors.InvalidTransition("the request is no longer being approved")
    if view.state != LinkState.OPEN:
        raise errors.LinkStale("decide")
    return view


def open_renewal(services: Services, token: str, client: ClientInfo) -> AccessRequest:
    """Return the request a renewal link was sent for (its content fills a new form)."""
    view = resolve_link(services, token, LinkKind.RENEW, client)
    if view.state == LinkState.EXPIRED:
        raise errors.LinkExpired("renew")
    return view.request
