"""The recertification of long grants (issue 17): the manager keeps the grant, or it ends.

The lifecycle job (service/timed.py) asks the manager when a review period nears its end and
ends the grant when the question went unanswered (`AccessEnded`, reason "no answer to the
review"). The manager's e-mail carries one review link, with the rules of approval links: a
GET shows the grant and two buttons, the POST (with the page's CSRF token) keeps it, which
starts a new period, or ends it now. The link works once, and only until the answer is due.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ..domain.errors import Conflict, InvalidTransition, LinkExpired, LinkStale, LinkUsed
from ..domain.models import (
    AccessRequest,
    AuditEvent,
    ClientInfo,
    LinkKind,
    LinkToken,
    RequestStatus,
)
from ..domain.review import answer_by, ask_review, keep_grant, question_open, reviewer
from ..domain.sessions import Session
from ..domain.timers import end_grant
from ..domain.trust import review_period_end
from .audit import new_event, scheduled_event
from .context import Services, work_calendar
from .decision_identity import link_decider
from .link_views import LinkState, LinkView, resolve_link
from .mail import PendingEmail, access_ended, compose, deliver, issue_link
from .steps import approver_langs, deputy_for, end_of_day

NO_ANSWER = "no answer to the review"
ENDED_AT_REVIEW = "ended by the manager at the review"
Answer = Literal["keep", "end"]
Change = tuple[AccessRequest, AuditEvent, list[LinkToken], list[PendingEmail]]


def ask(services: Services, request: AccessRequest, now: datetime) -> Change:
    """Ask the grant's manager whether it is still needed (a timed action)."""
    asked = ask_review(request, now)
    rules, calendar = services.policy.rules.trust, work_calendar(services.policy)
    deadline = answer_by(asked, rules, calendar)
    manager = reviewer(asked)
    url, link = issue_link(services, asked, LinkKind.REVIEW, now, approver=manager)
    # The link works exactly until the answer is due: after that the grant has ended.
    link = link.model_copy(update={"expires_at": deadline})
    assert asked.review_every_days is not None and asked.access_until is not None
    granted = max(s.decided_at for s in asked.steps if s.decided_at)
    context = {
        "review_url": url,
        "answer_by": deadline,
        "period_ends": review_period_end(granted, asked.review_kept_at, asked.review_every_days),
        "every_days": asked.review_every_days,
        "on_behalf_of": None,  # the manager's own question
    }
    email = compose(
        services, asked, "review_needed", [manager], approver_langs(None, manager), now, context
    )
    links, emails, asked_whom = [link], [email], manager
    # A manager away with a deputy in force (as for approvals): the deputy gets a link of
    # their own, valid while the delegation is, so the grant does not lapse for the absence.
    delegation = deputy_for(services, manager, now)
    if delegation is not None:
        until = min(deadline, end_of_day(delegation.ends))
        deputy_url, deputy_link = issue_link(
            services, asked, LinkKind.REVIEW, now,
            approver=delegation.deputy, on_behalf_of=manager, not_after=until,
        )  # fmt: skip
        links.append(deputy_link.model_copy(update={"expires_at": until}))
        deputy_context = {**context, "review_url": deputy_url, "on_behalf_of": manager}
        deputy_langs = approver_langs(None, delegation.deputy)
        to_deputy = compose(
            services, asked, "review_needed", [delegation.deputy], deputy_langs, now,
            deputy_context,
        )  # fmt: skip
        emails.append(to_deputy)
        asked_whom = f"{manager} and deputy {delegation.deputy}"
    event = scheduled_event(
        services,
        "review_requested",
        now,
        request_id=asked.id,
        reason=f"{asked_whom} asked; answer by {deadline.isoformat()}"[:200],
    )
    return asked, event, links, emails


def lapse(services: Services, request: AccessRequest, now: datetime) -> Change:
    """End a grant whose manager did not answer the review in time (a timed action)."""
    ended = end_grant(request, now)
    links, emails = access_ended(services, ended, now)
    event = scheduled_event(services, "ended", now, request_id=ended.id, reason=NO_ANSWER)
    return ended, event, links, emails


def open_review(services: Services, token: str, client: ClientInfo) -> LinkView:
    """Return a review link whose question is still open, or raise why it cannot be used."""
    view = resolve_link(services, token, LinkKind.REVIEW, client)
    request = view.request
    if request.status != RequestStatus.APPROVED:
        raise InvalidTransition("the grant is no longer active")  # ended, revoked
    if view.state == LinkState.USED:
        raise LinkUsed("review")
    if view.state == LinkState.EXPIRED:
        raise LinkExpired("review")
    asked = request.review_asked_at
    if not question_open(request) or asked is None or view.link.created_at < asked:
        raise LinkStale("review")  # a question of an earlier period
    return view


def answer_review(
    services: Services,
    token: str,
    answer: Answer,
    client: ClientInfo,
    session: Session | None = None,
) -> AccessRequest:
    """Apply the manager's Keep or End once; a second use or a lost race changes nothing.

    Where decisions need a provider sign-in (issue 15), so does the answer: SignInRequired
    without a session, NotTheLinksApprover (audited) for someone else's.
    """
    view = open_review(services, token, client)
    link, request = view.link, view.request
    decider = link_decider(services, view, session, client)
    now = services.clock()
    links: list[LinkToken] = []
    emails: list[PendingEmail] = []
    if answer == "keep":
        changed = keep_grant(request, now)
        action: Literal["review_kept", "ended"] = "review_kept"
        reason = f"still needed; next review in {request.review_every_days} days"
    else:
        changed = end_grant(request, now)
        links, emails = access_ended(services, changed, now)
        action, reason = "ended", ENDED_AT_REVIEW
    if decider.on_behalf_of:
        reason = f"{reason} (deputy, on behalf of {decider.on_behalf_of})"
    event = new_event(
        services,
        action,
        decider.approver,
        "link",
        at=now,
        request_id=request.id,
        client=client,
        reason=reason,
    ).model_copy(update={"identity": decider.person})
    try:
        services.store.apply_transition(
            request, changed, event, link, now, links, [e.entry for e in emails], head=view.head
        )
    except Conflict:
        latest = services.store.load_request(request.id)
        if latest is not None and latest.status != RequestStatus.APPROVED:
            raise InvalidTransition("the grant is no longer active") from None
        raise
    deliver(services, emails)
    return changed
