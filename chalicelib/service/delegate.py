"""Name a deputy from an approval link: pending and new steps go to them for a range of days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal

from ..domain.delegation import Delegation, new_delegation
from ..domain.errors import InvalidDecision, NotAnApprover
from ..domain.models import (
    AuditEvent,
    ClientInfo,
    LinkKind,
    LinkToken,
)
from ..rendering.i18n import LOCAL_ZONE
from .audit import new_event
from .context import Services
from .link_views import LinkView, resolve_link, usable_decision
from .mail import PendingEmail, compose, deliver, issue_link
from .steps import AskedStep, ask_deputy, deputy_may_decide, end_of_day, waiting_steps


def open_delegation(services: Services, token: str, client: ClientInfo) -> LinkView:
    """Return the approval link a delegation is made from, if it could still decide its step.

    A deputy cannot delegate again; a used, expired or stale link, or one whose step was
    decided or handed over, cannot delegate at all: an old e-mail must not hand over an
    approver's future steps (issue 13, item 5).
    """
    view = resolve_link(services, token, LinkKind.DECIDE, client)
    if view.link.on_behalf_of is not None:
        raise NotAnApprover("deputy_cannot_delegate")
    return usable_decision(services, view)


def delegate(
    services: Services, token: str, deputy: str, starts: date, ends: date, client: ClientInfo
) -> tuple[Delegation, int]:
    """Record a delegation; hand the approver's pending steps to the deputy if it starts today.

    Returns the delegation and how many pending steps were handed over.
    """
    view = open_delegation(services, token, client)
    approver = view.link.approver
    assert approver is not None
    now = services.clock()
    delegation, event = _checked(services, approver, deputy, starts, ends, "link", client)
    # The approver is told, with a link to cancel: whoever held the link may not be them.
    link, notice = _notice(services, view, delegation, now)
    services.store.add_delegation(
        delegation,
        event,
        _over(services, view.delegations),
        head=view.head,
        links=[link],
        outbox=[notice.entry],
    )
    deliver(services, [notice])
    return delegation, _hand_over(services, delegation)


def delegate_signed_in(
    services: Services, person: str, deputy: str, starts: date, ends: date, client: ClientInfo
) -> tuple[Delegation, int]:
    """Record a delegation of the signed-in person's own steps (from "my requests").

    The session proves who delegates, so no e-mail asks them to confirm; the delegation is
    listed on the same page with its cancel button. A range overlapping one of their
    delegations in force or ahead is refused (cancel it first).
    """
    today = services.clock().astimezone(LOCAL_ZONE).date()
    delegation, event = _checked(services, person, deputy, starts, ends, "console", client)
    if any(
        d.still_ahead(today) and d.starts <= delegation.ends and delegation.starts <= d.ends
        for d in services.store.delegations_of(person)
    ):
        raise InvalidDecision("authority.delegation.overlaps")
    services.store.add_delegation(delegation, event, _over(services, None))
    return delegation, _hand_over(services, delegation)


def _checked(
    services: Services,
    approver: str,
    deputy: str,
    starts: date,
    ends: date,
    via: Literal["link", "console"],
    client: ClientInfo,
) -> tuple[Delegation, AuditEvent]:
    """Check a delegation (raise InvalidDecision) and build it with its audit event."""
    now = services.clock()
    today = now.astimezone(LOCAL_ZONE).date()
    delegation = new_delegation(
        services.new_id() + services.new_id(),
        approver,
        deputy,
        starts,
        ends,
        today,
        now,
        services.policy,
    )
    event = new_event(
        services,
        "delegated",
        approver,
        via,
        at=now,
        client=client,
        reason=f"deputy {delegation.deputy} from {starts} to {ends}",
    )
    return delegation, event


def _over(services: Services, in_force: Sequence[Delegation] | None) -> list[Delegation]:
    """Delegations over for more than a day: they leave the item of delegations in force.

    The margin covers the time zones; a delegation's own item stays as the record.
    """
    today = services.clock().astimezone(LOCAL_ZONE).date()
    current = services.store.delegations_in_force() if in_force is None else in_force
    return [d for d in current if (today - d.ends).days > 1]


def _hand_over(services: Services, delegation: Delegation) -> int:
    """Hand the approver's waiting steps to the deputy if the delegation starts today."""
    now = services.clock()
    if not delegation.covers(now.astimezone(LOCAL_ZONE).date()):
        return 0
    moved = 0
    for request, step_index in waiting_steps(services, delegation.approver):
        if not deputy_may_decide(request, step_index, delegation):
            continue
        link, emails = ask_deputy(services, AskedStep(request, step_index, now), delegation)
        services.store.add_links([link], [e.entry for e in emails])
        deliver(services, emails)
        moved += 1
    return moved


def _notice(
    services: Services, view: LinkView, delegation: Delegation, now: datetime
) -> tuple[LinkToken, PendingEmail]:
    """The approver's e-mail that a delegation was recorded, with its single-use cancel link."""
    url, link = issue_link(
        services,
        view.request,
        LinkKind.UNDELEGATE,
        now,
        approver=delegation.approver,
        not_after=end_of_day(delegation.ends),
    )
    link = link.model_copy(update={"delegation_id": delegation.id})
    email = compose(
        services,
        view.request,
        "delegation_recorded",
        [delegation.approver],
        ["fr", "en"],
        now,
        {"delegation": delegation, "cancel_url": url, "cancel_expires_at": link.expires_at},
    )
    return link, email


def parse_day(value: str) -> date:
    """Read a date typed in the delegation form (YYYY-MM-DD)."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidDecision("delegation_dates") from None
