"""Open an approval step: a link and an e-mail for each approver, or for their deputy."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class AskedStep:
    """A step of a request its approvers (or their deputies) are asked to decide, now.

    `nudge` says why a waiting step is asked again (a reminder, an escalation); `langs` are the
    people's chosen languages if the caller read them (an approver who chose English gets
    English alone).
    """

    request: AccessRequest
    index: int
    now: datetime
    nudge: Mapping[str, Any] | None = None
    langs: Mapping[str, Lang] | None = None

    @property
    def role(self) -> str:
        """Return the role of the step asked."""
        return self.request.steps[self.index].role

    def email(
        self, services: Services, template: str, to: str, context: Mapping[str, Any]
    ) -> PendingEmail:
        """Render an e-mail about the step's request to one person, in their languages."""
        langs = approver_langs(self.langs, to)
        return compose(services, self.request, template, [to], langs, self.now, context)


def ask_deputy(
    services: Services, asked: AskedStep, delegation: Delegation
) -> tuple[LinkToken, list[PendingEmail]]:
    """Give a deputy a link valid until the delegation ends; tell the approver for information."""
    link, to_deputy = _ask(services, asked, delegation.deputy, delegation)
    if asked.nudge is not None:
        return link, [to_deputy]  # the approver had their copy when the step first opened
    context = {"step_role": asked.role, "delegation": delegation}
    copy = asked.email(services, "delegation_copy", delegation.approver, context)
    return link, [to_deputy, copy]


def ask_approver(
    services: Services, asked: AskedStep, approver: str
) -> tuple[LinkToken, PendingEmail]:
    """Give an approver a decision link for a step, and the e-mail that carries it."""
    return _ask(services, asked, approver, None)


def _ask(
    services: Services, asked: AskedStep, person: str, delegation: Delegation | None
) -> tuple[LinkToken, PendingEmail]:
    """A decision link for the person asked, and the e-mail that carries it.

    A deputy's link (`delegation`) is on the approver's behalf and ends with the delegation.
    """
    url, link = issue_link(
        services,
        asked.request,
        LinkKind.DECIDE,
        asked.now,
        step=asked.index,
        approver=person,
        on_behalf_of=delegation.approver if delegation else None,
        not_after=end_of_day(delegation.ends) if delegation else None,
    )
    context = {
        "decide_url": url,
        "step_role": asked.role,
        "link_expires_at": link.expires_at,
        "delegation": delegation,
        "nudge": asked.nudge,
    }
    return link, asked.email(services, "approval_needed", person, context)


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
    asked = AskedStep(request, step_index, now, nudge, langs)
    for approver in step.approvers:
        if any(same_person(approver, d) for d in deciders):
            continue
        delegation = deputy_for(services, approver, now, in_force)
        if delegation and deputy_may_decide(request, step_index, delegation):
            link, messages = ask_deputy(services, asked, delegation)
            links.append(link)
            emails.extend(messages)
            continue
        link, email = ask_approver(services, asked, approver)
        links.append(link)
        emails.append(email)
    return links, emails


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
