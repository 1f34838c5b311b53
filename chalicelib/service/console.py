"""Use cases behind the officers' console and "my requests": read, decide, revoke, withdraw,
export. Each state change is one transaction with its audit event (as for e-mail links)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.errors import Conflict, InvalidTransition, NotAnApprover, NotFound
from ..domain.identity import VerifiedPerson
from ..domain.lifecycle import revoke, withdraw
from ..domain.models import (
    AccessRequest,
    ClientInfo,
    Decision,
    Lang,
    LinkKind,
    OutboxEntry,
)
from ..domain.stats import Dashboard, dashboard, step_opened_at
from ..domain.workflow import check_duties, decide, raise_if_decided
from ..store import keys
from ..store.audit import AuditFilter, ChainedEvent, HeadRead
from ..store.console import RequestFilter
from ..store.dynamo import Page
from .audit import new_event, refused_attempt
from .context import Services
from .decide import _follow_ups
from .mail import access_event, compose, deliver, issue_link, to_requester

SECURITY_ROLE = "security"
DASHBOARD_DAYS = 90


@dataclass(frozen=True)
class WaitingStep:
    """A request whose current step waits for a decision, and since when."""

    request: AccessRequest
    step_index: int
    since: datetime
    age: timedelta


def _waiting(services: Services, who: str) -> list[WaitingStep]:
    now = services.clock()
    found = []
    for request in services.store.console.waiting_for(who):
        index = request.current_step_index()
        if index is None:
            continue
        since = step_opened_at(request, index) or request.created_at
        found.append(WaitingStep(request, index, since, now - since))
    return found


def security_queue(services: Services) -> list[WaitingStep]:
    """Security steps waiting for an officer, oldest first."""
    return _waiting(services, keys.partition(keys.ROLE, SECURITY_ROLE))


def steps_waiting_for(
    services: Services, email: str, roles: Iterable[str] = ()
) -> list[WaitingStep]:
    """Steps waiting for this person, oldest first: their manager steps, and the steps of each
    group role they hold (not security: officers have the queue) that the duties let them take."""
    found = _waiting(services, email)
    for role in sorted(set(roles) - {SECURITY_ROLE}):
        for entry in _waiting(services, keys.partition(keys.ROLE, role)):
            try:
                check_duties(entry.request, entry.step_index, email, roles=frozenset({role}))
            except NotAnApprover:
                continue  # their own request, or one they already took part in
            found.append(entry)
    return sorted(found, key=lambda entry: entry.since)


def my_requests(services: Services, email: str) -> list[AccessRequest]:
    """The person's own requests, newest first."""
    return services.store.console.requests_of(email)


def requests_page(
    services: Services, wanted: RequestFilter, limit: int, start: dict[str, object] | None
) -> Page[AccessRequest]:
    """One page of requests for the console (one Query)."""
    return services.store.console.requests_page(wanted, limit, start)


def grants_page(
    services: Services, wanted: RequestFilter, limit: int, start: dict[str, object] | None
) -> Page[AccessRequest]:
    """One page of active grants, soonest to end first (one Query)."""
    return services.store.console.grants_page(wanted, services.clock(), limit, start)


def load(services: Services, request_id: str) -> AccessRequest:
    """Return a request or raise NotFound."""
    request = services.store.load_request(request_id) if request_id.isalnum() else None
    if request is None:
        raise NotFound("request")
    return request


def request_detail(services: Services, request_id: str) -> tuple[AccessRequest, list[ChainedEvent]]:
    """A request and its whole audit timeline (every event, with its place in the chain)."""
    request = load(services, request_id)
    return request, services.store.audit.events_for_request(request.id)


def decide_in_console(
    services: Services,
    request_id: str,
    step_index: int,
    person: str,
    decision: Decision,
    comment: str,
    client: ClientInfo,
    identity: VerifiedPerson | None = None,
    chosen_lang: Lang | None = None,
    roles: frozenset[str] = frozenset(),
) -> AccessRequest:
    """Decide the step a request waits on, signed in (a manager's, or an officer's).

    `identity`: who the provider vouched for in the session (issue 15), recorded with it.
    `roles`: the session's roles; holding the step's role entitles as being listed does.
    `chosen_lang`: the language the person chose in the browser, recorded in the decision's
    transaction (not read first: that would cost a call) for their next approval e-mails.
    """
    request = load(services, request_id)
    if step_index != request.current_step_index():
        if 0 <= step_index < len(request.steps):
            raise_if_decided(request, step_index)
        raise InvalidTransition("this step is not waiting for a decision")
    now = services.clock()
    try:
        decided = decide(
            request, step_index, person, decision, comment, now, "console", roles=roles
        )
    except NotAnApprover as refused:
        refused_attempt(services, request.id, person, refused.reason, client, step=step_index)
        raise
    links, emails = _follow_ups(services, decided, now)
    event = new_event(
        services,
        "approved" if decision == "approve" else "refused",
        person,
        "console",
        request_id=request.id,
        client=client,
        step=step_index,
        comment=comment.strip() or None,
    ).model_copy(update={"identity": identity})
    try:
        choice = [services.store.lang_choice(person, chosen_lang)] if chosen_lang else []
        services.store.apply_transition(
            request, decided, event, None, now, links, [e.entry for e in emails], extra=choice
        )
    except Conflict:
        latest = services.store.load_request(request.id)
        if latest is not None:
            raise_if_decided(latest, step_index)
        raise
    deliver(services, emails)
    return decided


def revoke_grant(
    services: Services, request_id: str, officer: str, reason: str, client: ClientInfo
) -> AccessRequest:
    """End an active grant now; the requester is told why by e-mail."""
    request = load(services, request_id)
    now = services.clock()
    revoked = revoke(request, officer, reason, now)
    status_url, status_link = issue_link(services, revoked, LinkKind.STATUS, now)
    email = to_requester(services, revoked, "access_revoked", now, {"status_url": status_url})
    event = new_event(
        services,
        "revoked",
        officer,
        "console",
        request_id=request.id,
        client=client,
        comment=revoked.revocation_reason,
    )
    published = access_event(services, revoked, "AccessRevoked", now)
    services.store.apply_transition(
        request, revoked, event, None, now, [status_link], [email.entry, published.entry]
    )
    deliver(services, [email, published])
    return revoked


def withdraw_request(
    services: Services, request_id: str, person: str, client: ClientInfo
) -> AccessRequest:
    """The requester takes back a request nobody has finished deciding."""
    request = load(services, request_id)
    if request.content.email != person:
        raise NotAnApprover("not the requester")  # same answer as a request of someone else
    now = services.clock()
    withdrawn = withdraw(request, person, now)
    event = new_event(
        services, "withdrawn", person, "console", request_id=request.id, client=client
    )
    # Whoever was asked to decide is told the links no longer do anything.
    waiting = request.current_step_index()
    emails = (
        [
            compose(
                services, withdrawn, "request_withdrawn", [approver], ["fr", "en"], now,
                {"step_role": request.steps[waiting].role},
            )
            for approver in request.steps[waiting].approvers
        ]
        if waiting is not None
        else []
    )  # fmt: skip
    services.store.apply_transition(
        request, withdrawn, event, None, now, outbox=[e.entry for e in emails]
    )
    deliver(services, emails)
    return withdrawn


def dashboard_figures(services: Services, days: int = DASHBOARD_DAYS) -> Dashboard:
    """Figures over the requests filed in the last `days` days."""
    now = services.clock()
    return dashboard(services.store.console.requests_between(now - timedelta(days=days), now))


def audit_page(
    services: Services, wanted: AuditFilter, limit: int, start: dict[str, object] | None
) -> Page[ChainedEvent]:
    """One page of the audit log, newest first (one Query)."""
    return services.store.audit.page(wanted, limit, start)


def export_grants(
    services: Services, wanted: RequestFilter, officer: str, what: str, client: ClientInfo
) -> list[AccessRequest]:
    """Every active grant matching the filters; the export itself is audited."""
    grants = list(services.store.console.all_grants(wanted, services.clock()))
    _audit_export(services, officer, client, f"{what}: {len(grants)}")
    return grants


def export_audit(
    services: Services, wanted: AuditFilter, officer: str, what: str, client: ClientInfo
) -> list[ChainedEvent]:
    """Every audit event matching the filters; the export itself is audited (afterwards)."""
    events = list(_all(services, wanted))
    _audit_export(services, officer, client, f"{what}: {len(events)}")
    return events


def _audit_export(services: Services, officer: str, client: ClientInfo, what: str) -> None:
    services.store.audit.append(
        new_event(services, "exported", officer, "console", client=client, comment=what)
    )


def _all(services: Services, wanted: AuditFilter) -> Iterator[ChainedEvent]:
    return services.store.audit.all_matching(wanted)


def link_opened(
    services: Services,
    request: AccessRequest,
    person: str,
    step: int | None,
    client: ClientInfo,
    head: HeadRead | None = None,
) -> None:
    """Audit that an e-mail link was opened (GET): who it was sent to, from where."""
    event = new_event(
        services,
        "link_opened",
        person,
        "link",
        request_id=request.id,
        client=client,
        step=step,
    )
    services.store.audit.append(event, head=head)


@dataclass(frozen=True)
class FailedDelivery:
    """An e-mail or bus event that failed for good, as the console lists it."""

    entry: OutboxEntry
    reason: str
    failed_at: datetime | None
    retryable: bool


def failed_deliveries(
    services: Services, limit: int, start: dict[str, object] | None
) -> tuple[list[FailedDelivery], dict[str, object] | None]:
    """One page of deliveries that failed for good, newest first (one Query)."""
    rows, next_key = services.store.failed_outbox(limit, start)
    found = [
        FailedDelivery(entry, reason, datetime.fromisoformat(when) if when else None, retryable)
        for entry, reason, when, retryable in rows
    ]
    return found, next_key


def retry_delivery(services: Services, outbox_id: str, officer: str, client: ClientInfo) -> None:
    """Queue a failed delivery again, due now; the same message (same link) goes out.

    Raises Conflict when it is not failed any more (retried already) or kept no message.
    """
    entry = services.store.load_outbox(outbox_id) if outbox_id.isalnum() else None
    if entry is None:
        raise NotFound("delivery")
    now = services.clock()
    what = f"{entry.template} to {', '.join(entry.recipients)}"[:200]
    event = new_event(
        services,
        "delivery_retried",
        officer,
        "console",
        request_id=entry.request_id,
        client=client,
        comment=what,
    )
    services.store.retry_outbox(outbox_id, event, now)
