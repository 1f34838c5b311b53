"""File a request: validate, store it waiting for e-mail proof, send the confirmation link."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..domain.awareness import Completion, person_ref
from ..domain.errors import Conflict, LimitReached, NoApprover
from ..domain.models import (
    AccessRequest,
    AuditEvent,
    ClientInfo,
    Lang,
    LinkKind,
    LinkToken,
    RequestContent,
)
from ..domain.submission import SubmissionResult
from ..domain.workflow import new_request
from .audit import braked_refusal, new_event
from .awareness import trained_pass
from .context import Services
from .directory_lookup import validate_with_directory
from .mail import PendingEmail, deliver, issue_link, to_requester


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
) -> SubmitOutcome:
    """Validate a filed form; on success store it and e-mail the requester a confirmation link.

    `held`: a pass of the module taken without a sign-in (checked genuine, current and of
    the typed address by the caller); it counts for this request and becomes the person's
    pass when the confirmation link proves the address. Raises LimitReached when the
    requester or the source is over a limit of the policy (nothing stored).
    """
    result, manager_source = validate_with_directory(services, form)  # issue 15
    if result.content is None:
        if result.errors.get("manager_email") == "same_as_requester":
            requester = (form.get("email") or [""])[0].strip().lower()
            return _refused(services, requester, "self_approval", client, result.errors, result)
        return SubmitOutcome(errors=result.errors, result=result)

    now = services.clock()
    # Issue 17: a valid pass of the current awareness module may shorten the chain; it is
    # read only when it would (so other requests cost no extra read).
    held, trained = counted_pass(services, result.content, held, result.content.email)
    try:
        request = new_request(
            request_id_for(submission_key), result.content, services.policy, lang, now, trained
        )
    except NoApprover as error:
        reason = f"no_approver:{error.role}"
        errors = {"form": "no_approver"}
        return _refused(services, result.content.email, reason, client, errors, result)
    request = request.model_copy(
        update={"manager_source": manager_source, "unconfirmed_pass": held}
    )
    if renews is not None:
        request = request.model_copy(update={"renews": renews.id})
    confirm_url, confirm_link = issue_link(services, request, LinkKind.CONFIRM, now)
    status_url, status_link = issue_link(services, request, LinkKind.STATUS, now)
    context = {"confirm_url": confirm_url, "status_url": status_url}
    email = to_requester(services, request, "confirm_request", now, context)
    event = new_event(
        services,
        "submitted",
        request.content.email,
        "form",
        at=now,
        request_id=request.id,
        client=client,
        reason=f"policy {services.policy.version}; chain {' > '.join(request.chain)}"
        + (f"; renews {renews.reference}" if renews else "")
        + ("; trained path" if request.trained_path else ""),
    )
    links = [confirm_link, status_link]
    replayed = store_new(services, request, event, links, [email], client, result)
    if replayed is not None:
        return replayed
    return SubmitOutcome(request=request, result=result)


def counted_pass(
    services: Services, content: RequestContent, held: Completion | None, holder: str
) -> tuple[Completion | None, Completion | None]:
    """Return the carried pass that counts (the holder's own) and the pass that shortens the chain.

    The stored pass is read only when a trained path would shorten the chain (issue 17), so
    other requests cost no extra read.
    """
    shorter = services.policy.route_for(content.platforms, content.level, trained=True)
    could_shorten = shorter is not None and shorter.trained_path
    if held is not None and held.person != person_ref(holder):
        held = None  # a pass of another address never counts for this one
    trained = (held or trained_pass(services, person_ref(content.email))) if could_shorten else None
    return held, trained


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
