"""File a request: validate it, store it, and send its first e-mails.

Signed out, it waits for e-mail proof (a confirmation link). Signed in with the provider, the
sign-in did what the confirmation e-mail does: it is filed confirmed (issue 15).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..domain.awareness import Completion
from ..domain.errors import Conflict, LimitReached, NoApprover
from ..domain.identity import ProviderRef
from ..domain.models import AccessRequest, AuditEvent, ClientInfo, Lang, LinkKind, LinkToken
from ..domain.sessions import Session
from ..domain.submission import SubmissionResult
from ..domain.workflow import confirm, new_request
from .audit import braked_refusal, new_event
from .awareness import counted_pass, record_confirmed_pass
from .context import Services
from .directory_lookup import validate_with_directory
from .mail import PendingEmail, deliver, issue_link, to_requester
from .steps import open_step


@dataclass(frozen=True)
class SubmitOutcome:
    """Field errors (nothing stored), or the stored request (`duplicate` when resubmitted).

    `limited`: the source made too many refused attempts this hour (the page answers 429).
    """

    errors: dict[str, str] = field(default_factory=dict)
    limited: bool = False
    request: AccessRequest | None = None
    duplicate: bool = False
    result: SubmissionResult | None = None


def request_id_for(submission_key: str) -> str:
    """Derive the request id from the form's one-time key, so a resubmission maps to it."""
    return hashlib.sha256(f"request:{submission_key}".encode()).hexdigest()[:24]


def submit_request(
    services: Services,
    form: Mapping[str, Sequence[str]],
    submission_key: str,
    lang: Lang,
    client: ClientInfo,
    renews: AccessRequest | None = None,
    held: Completion | None = None,
    session: Session | None = None,
) -> SubmitOutcome:
    """Validate a filed form; on success store it and send its first e-mails.

    Signed out, the request waits for e-mail proof and the requester gets a confirmation link.
    With a `session` the address is proven (issue 15): the request is filed confirmed, its first
    approvers asked, in the one transaction that stores it, and the requester's address is the
    session's, whatever the form says. `held`: a pass of the module carried by the form (checked
    genuine and current by the caller); it counts for this request and becomes the person's
    pass once the address is proven, by the sign-in or by the confirmation link. Raises
    LimitReached when the requester or the source is over a limit (nothing stored).
    """
    if session is not None:
        form = {**form, "email": [session.email]}  # the proven address, never a typed one
    result, manager_source = validate_with_directory(services, form)  # issue 15
    if result.content is None:
        if result.errors.get("manager_email") == "same_as_requester":
            typed = (form.get("email") or [""])[0].strip().lower()
            requester = session.email if session is not None else typed
            return _refused(services, requester, "self_approval", client, result.errors, result)
        return SubmitOutcome(errors=result.errors, result=result)

    now = services.clock()
    requester = session.email if session is not None else result.content.email
    # Issue 17: a valid pass of the current awareness module may shorten the chain; it is
    # read only when it would (so other requests cost no extra read).
    held, trained = counted_pass(services, result.content, held, requester)
    try:
        request = new_request(
            request_id_for(submission_key), result.content, services.policy, lang, now, trained
        )
    except NoApprover as error:
        reason = f"no_approver:{error.role}"
        errors = {"form": "no_approver"}
        return _refused(services, requester, reason, client, errors, result)
    request = request.model_copy(update={"manager_source": manager_source})
    if renews is not None:
        request = request.model_copy(update={"renews": renews.id})
    request, links, emails, note = _first_mails(services, request, held, session, now)
    event = new_event(
        services,
        "submitted",
        requester,
        "form",
        at=now,
        request_id=request.id,
        client=client,
        reason=f"policy {services.policy.version}; chain {' > '.join(request.chain)}"
        + (f"; renews {renews.reference}" if renews else "")
        + note,
    )
    if session is not None and session.identity is not None:
        event = event.model_copy(update={"identity": session.identity})
    replayed = store_new(services, request, event, links, emails, client, result)
    if replayed is not None:
        return replayed
    if session is not None and held is not None:
        record_confirmed_pass(services, held, client)  # the sign-in proved its address
    return SubmitOutcome(request=request, result=result)


def _first_mails(
    services: Services,
    request: AccessRequest,
    held: Completion | None,
    session: Session | None,
    now: datetime,
) -> tuple[AccessRequest, list[LinkToken], list[PendingEmail], str]:
    """The request as filed, its links and e-mails, and what its audit event adds about it.

    Signed out: the confirmation and status links to the requester, the pass held until the
    confirmation proves the address. Signed in: confirmed now, the first approvers asked.
    """
    if session is None:
        request = request.model_copy(update={"unconfirmed_pass": held})
        confirm_url, confirm_link = issue_link(services, request, LinkKind.CONFIRM, now)
        status_url, status_link = issue_link(services, request, LinkKind.STATUS, now)
        context = {"confirm_url": confirm_url, "status_url": status_url}
        email = to_requester(services, request, "confirm_request", now, context)
        note = "; trained path" if request.trained_path else ""
        return request, [confirm_link, status_link], [email], note
    if session.identity is not None:
        identity = session.identity
        issued = ProviderRef(issuer=identity.issuer, subject=identity.subject)
        request = request.model_copy(update={"requester_identity": issued})
    confirmed = confirm(request, now)
    links, emails = open_step(services, confirmed, 0, now)
    return confirmed, links, emails, "; address proven by sign-in"


def store_new(
    services: Services,
    request: AccessRequest,
    event: AuditEvent,
    links: list[LinkToken],
    emails: list[PendingEmail],
    client: ClientInfo,
    result: SubmissionResult,
) -> SubmitOutcome | None:
    """Store a new request and send its e-mails; None when stored, else what a replay shows."""
    try:
        services.store.create_request(
            request,
            event,
            links,
            [e.entry for e in emails],
            services.policy.rules.limits,
            client.source_ip,
        )
    except Conflict:
        existing = services.store.load_request(request.id)
        if existing is None or existing.content != request.content:
            # The same one-time key with other content is not a resubmission: ask again.
            return SubmitOutcome(errors={"form": "expired"}, result=result)
        return SubmitOutcome(request=existing, duplicate=True, result=result)
    deliver(services, emails)
    return None


def _refused(
    services: Services,
    actor: str,
    reason: str,
    client: ClientInfo,
    errors: dict[str, str],
    result: SubmissionResult,
) -> SubmitOutcome:
    """Audit a refused attempt within the source's limit; past it, say so (and write nothing)."""
    try:
        braked_refusal(services, actor, reason, client)
    except LimitReached:
        # The person still sees what is wrong with the form, and that the source is braked.
        return SubmitOutcome(
            errors={**errors, "form": "limits.refused"}, result=result, limited=True
        )
    return SubmitOutcome(errors=errors, result=result)
