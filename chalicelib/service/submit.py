"""File a request: validate, store it waiting for e-mail proof, send the confirmation link."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..domain.errors import Conflict
from ..domain.models import AccessRequest, AuditEvent, ClientInfo, Lang, LinkKind
from ..domain.submission import validate_submission
from ..domain.workflow import new_request
from .context import Services
from .mail import compose, deliver, issue_link


@dataclass(frozen=True)
class SubmitOutcome:
    """Field errors (nothing stored), or the stored request (`duplicate` when resubmitted)."""

    errors: dict[str, str] = field(default_factory=dict)
    request: AccessRequest | None = None
    duplicate: bool = False


def request_id_for(submission_key: str) -> str:
    """Derive the request id from the form's one-time key, so a resubmission maps to it."""
    return hashlib.sha256(f"request:{submission_key}".encode()).hexdigest()[:24]


def submit_request(
    services: Services,
    form: Mapping[str, Sequence[str]],
    submission_key: str,
    lang: Lang,
    client: ClientInfo,
) -> SubmitOutcome:
    """Validate a filed form; on success store it and e-mail the requester a confirmation link."""
    result = validate_submission(form, services.policy)
    if result.content is None:
        return SubmitOutcome(errors=result.errors)

    now = services.clock()
    request = new_request(
        request_id_for(submission_key), result.content, services.policy, lang, now
    )
    confirm_url, confirm_link = issue_link(services, request, LinkKind.CONFIRM, now)
    status_url, status_link = issue_link(services, request, LinkKind.STATUS, now)
    email = compose(
        services,
        request,
        "confirm_request",
        [request.content.email],
        [lang],
        now,
        {"confirm_url": confirm_url, "status_url": status_url},
    )
    event = AuditEvent(
        request_id=request.id,
        event_id=services.new_id(),
        at=now,
        action="submitted",
        actor=request.content.email,
        via="form",
        source_ip=client.source_ip,
        user_agent=client.user_agent,
    )
    try:
        services.store.create_request(request, event, [confirm_link, status_link], [email.entry])
    except Conflict:
        existing = services.store.load_request(request.id)
        return SubmitOutcome(request=existing, duplicate=True)
    deliver(services, [email])
    return SubmitOutcome(request=request)
