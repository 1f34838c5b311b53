"""Open an approval step: a link and an e-mail for each approver, or for their deputy."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from ..domain.delegation import Delegation, active_delegation
from ..domain.errors import NotAnApprover
from ..domain.models import (
    AccessRequest,
    Lang,
    LinkKind,
    LinkToken,
    RequestStatus,
    StepStatus,
)
from ..domain.people import same_person
from ..domain.workflow import check_duties
from ..rendering.i18n import LOCAL_ZONE
from .context import Services
from .mail import PendingEmail, compose, issue_link


def approver_langs(langs: Mapping[str, Lang] | None, person: str) -> list[Lang]:
    """English alone for an approver who chose English; else French then English."""
    return ["en"] if (langs or {}).get(person.strip().lower()) == "en" else ["fr", "en"]


def end_of_day(day: date) -> datetime:
    """Return the instant a Québec day ends (a delegation ends at midnight after its last day)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=LOCAL_ZONE)


def deputy_for(
    services: Services,
    approver: str,
    now: datetime,
    in_force: Sequence[Delegation] | None = None,
) -> Delegation | None:
    """Return the delegation of an approver in force now (Québec day), if any.

    `in_force` is the item of delegations in force if it was already read; else it is read.
    """
    today = now.astimezone(LOCAL_ZONE).date()
    delegations = services.store.delegations_in_force() if in_force is None else in_force
    return active_delegation((d for d in delegations if same_person(d.approver, approver)), today)


def deputy_may_decide(request: AccessRequest, step_index: int, delegation: Delegation) -> bool:
    try:
        check_duties(request, step_index, delegation.deputy, on_behalf_of=delegation.approver)
    except NotAnApprover:
        return False
    return True


def ask_deputy(
    services: Services,
    request: AccessRequest,
    step_index: int,
    delegation: Delegation,
    now: datetime,
    nudge: Mapping[str, Any] | None = None,
    langs: Mapping[str, Lang] | None = None,
) -> tuple[LinkToken, list[PendingEmail]]:
    """Give a deputy a link valid until the delegation ends; tell the approver for information."""
    step = request.steps[step_index]
    url, link = issue_link(
        services,
        request,
        LinkKind.DECIDE,
        now,
        step=step_index,
        approver=delegation.deputy,
        on_behalf_of=delegation.approver,
        not_after=end_of_day(delegation.ends),
    )
    context = {"step_role": step.role, "delegation": delegation}
    to_deputy = compose(
        services,
        request,
        "approval_needed",
        [delegation.deputy],
        approver_langs(langs, delegation.deputy),
        now,
        {**context, "decide_url": url, "link_expires_at": link.expires_at, "nudge": nudge},
    )
    if nudge is not None:
        return link, [to_deputy]  # the approver had their copy when the step first opened
    to = delegation.approver
    copy = compose(
        services, request, "delegation_copy", [to], approver_langs(langs, to), now, context
    )
    return link, [to_deputy, copy]


def open_step(
    services: Services,
    request: AccessRequest,
    step_index: int,
    now: datetime,
    nudge: Mapping[str, Any] | None = None,
    in_force: Sequence[Delegation] | None = None,
    langs: Mapping[str, Lang] | None = None,
) -> tuple[list[LinkToken], list[PendingEmail]]:
    """Links and e-mails for a step that just opened (or, with `nudge`, still waits).

    Nobody who decided an earlier step is asked; an approver with a deputy in force today is
    replaced by the deputy (when the duty rules allow the deputy) and gets a copy. `nudge`
    says why a waiting step is asked again: a reminder, or an escalation. `in_force` is the
    item of delegations in force if the caller read it with the link; `langs`, the people's
    chosen languages read with it (an approver who chose English gets English alone).
    """
    step = request.steps[step_index]
    deciders = [s.decided_by for s in request.steps if s.decided_by]
    links: list[LinkToken] = []
    emails: list[PendingEmail] = []
    # Every approver's deputy comes from one item of all delegations in force (read at most
    # once here, or already read with the link), not one Query per approver: delegations are
    # few and short, so the item stays small, and it can join the link's BatchGetItem, which
    # a Query cannot.
    if in_force is None:
        in_force = services.store.delegations_in_force()
    for approver in step.approvers:
        if any(same_person(approver, d) for d in deciders):
            continue
        delegation = deputy_for(services, approver, now, in_force)
        if delegation and deputy_may_decide(request, step_index, delegation):
            link, messages = ask_deputy(
                services, request, step_index, delegation, now, nudge, langs
            )
            links.append(link)
            emails.extend(messages)
            continue
        link, email = ask_approver(services, request, step_index, approver, now, nudge, langs)
        links.append(link)
        emails.append(email)
    return links, emails


def ask_approver(
    services: Services,
    request: AccessRequest,
    step_index: int,
    approver: str,
    now: datetime,
    nudge: Mapping[str, Any] | None = None,
    langs: Mapping[str, Lang] | None = None,
) -> tuple[LinkToken, PendingEmail]:
    """Give an approver a decision link for a step, and the e-mail that carries it."""
    url, link = issue_link(
        services, request, LinkKind.DECIDE, now, step=step_index, approver=approver
    )
    email = compose(
        services,
        request,
        "approval_needed",
        [approver],
        approver_langs(langs, approver),
        now,
        {
            "decide_url": url,
            "step_role": request.steps[step_index].role,
            "link_expires_at": link.expires_at,
            "delegation": None,
            "nudge": nudge,
        },
    )
    return link, email


def waiting_steps(services: Services, approver: str) -> Iterator[tuple[AccessRequest, int]]:
    """Yield each request and step index still waiting for an approver's decision."""
    for request_id, step_index in services.store.pending_steps_of(approver):
        request = services.store.load_request(request_id)
        if (
            request is not None
            and request.status == RequestStatus.PENDING_APPROVAL
            and request.steps[step_index].status == StepStatus.PENDING
        ):
            yield request, step_index
