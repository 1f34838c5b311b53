"""Decide one approval step from an approver's (or their deputy's) e-mail link."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from ..domain.delegation import Delegation
from ..domain.errors import Conflict, NotAnApprover
from ..domain.models import (
    AccessRequest,
    ClientInfo,
    Decision,
    Lang,
    LinkKind,
    LinkToken,
    RequestStatus,
    StepStatus,
)
from ..domain.sessions import Session
from ..domain.workflow import decide, raise_if_decided
from ..store.lang_choices import chosen
from .audit import new_event, refused_attempt
from .context import Services
from .decision_identity import link_decider
from .link_views import open_decision
from .mail import PendingEmail, access_event, deliver, issue_link, to_requester
from .steps import open_step
from .trained_path import trained_path_notice


def _follow_ups(
    services: Services,
    decided: AccessRequest,
    now: datetime,
    in_force: Sequence[Delegation] | None = None,
    langs: Mapping[str, Lang] | None = None,
) -> tuple[list[LinkToken], list[PendingEmail]]:
    """Links and e-mails the decision causes: the next approvers, or the requester's outcome."""
    if decided.status == RequestStatus.PENDING_APPROVAL:
        index = decided.current_step_index()
        assert index is not None
        return open_step(services, decided, index, now, in_force=in_force, langs=langs)
    template = "request_approved" if decided.status == RequestStatus.APPROVED else "request_refused"
    status_url, status_link = issue_link(services, decided, LinkKind.STATUS, now)
    refusal = next((s for s in decided.steps if s.status == StepStatus.REFUSED), None)
    context = {"status_url": status_url, "refusal": refusal}
    email = to_requester(services, decided, template, now, context)
    if decided.status == RequestStatus.APPROVED:
        granted = access_event(services, decided, "AccessGranted", now)
        return [status_link], [email, granted, *trained_path_notice(services, decided, now)]
    return [status_link], [email]


def decide_step(
    services: Services,
    token: str,
    decision: Decision,
    comment: str,
    client: ClientInfo,
    session: Session | None = None,
    chosen_lang: Lang | None = None,
) -> AccessRequest:
    """Apply the link holder's decision once; a second use or a lost race changes nothing.

    `chosen_lang` is the language the approver chose in the browser, if any: a new choice is
    recorded in the decision's transaction, and their next approval e-mails follow it.

    With `decisions_require_sign_in` (issue 15) `session` must be the provider's session of
    the link's approver or of their deputy: SignInRequired, NotTheLinksApprover otherwise.
    """
    view = open_decision(services, token, client)
    link = view.link
    assert link.step is not None and link.approver is not None
    decider = link_decider(services, view, session, client)
    now = services.clock()
    try:
        decided = decide(
            view.request,
            link.step,
            decider.approver,
            decision,
            comment,
            now,
            "link",
            on_behalf_of=decider.on_behalf_of,
        )
    except NotAnApprover as refused:
        refused_attempt(
            services, view.request.id, decider.approver, refused.reason, client, step=link.step
        )
        raise
    langs, choice = dict(view.langs), []
    if chosen_lang is not None and (chosen(langs, decider.approver) or "fr") != chosen_lang:
        langs[decider.approver.strip().lower()] = chosen_lang
        choice = [services.store.lang_choice(decider.approver, chosen_lang)]
    links, emails = _follow_ups(services, decided, now, view.delegations, langs)
    event = new_event(
        services,
        "approved" if decision == "approve" else "refused",
        decider.approver,
        "link",
        request_id=decided.id,
        client=client,
        step=link.step,
        comment=comment.strip() or None,
        reason=f"on behalf of {decider.on_behalf_of}" if decider.on_behalf_of else None,
    ).model_copy(update={"identity": decider.person})
    try:
        services.store.apply_transition(
            view.request,
            decided,
            event,
            link,
            now,
            links,
            [e.entry for e in emails],
            head=view.head,
            extra=choice,
        )
    except Conflict:
        # Someone decided first (or the same link was used twice at once): say who.
        latest = services.store.load_request(decided.id)
        if latest is not None:
            raise_if_decided(latest, link.step)
        raise
    deliver(services, emails)
    return decided
