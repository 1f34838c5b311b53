"""Compose the e-mails a transition causes, and deliver them once the transition is committed."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypedDict, Unpack

from .. import aws
from ..domain.errors import DomainError
from ..domain.models import (
    AccessEvent,
    AccessRequest,
    Lang,
    LinkKind,
    LinkToken,
    OutboxEntry,
    OutboxMessage,
)
from ..domain.submission import check_address
from ..domain.workflow import content_hash
from ..notify import metrics
from ..notify.bus import publish
from ..notify.messages import RenderedEmail, render_email
from ..notify.ses import DeliveryFailed, send_email
from .context import Services
from .links import (
    derive_link_token,
    fill_links,
    link_placeholder,
    link_url,
    new_link_id,
    token_hash,
)

log = logging.getLogger(__name__)
RENEW_LINK_DAYS = 60
AccessEventType = Literal["AccessGranted", "AccessRevoked", "AccessEnded"]


@dataclass(frozen=True)
class PendingEmail:
    """An outbox entry and the message it stands for (with link placeholders, never tokens).

    An access event for the bus is an entry too: it has no message, and its entry its event.
    """

    entry: OutboxEntry
    message: RenderedEmail | None


class LinkHolder(TypedDict, total=False):
    """Whom a link is for, when not the requester: the step and who decides it (absent: None)."""

    step: int | None
    approver: str | None
    on_behalf_of: str | None


def issue_link(
    services: Services,
    request: AccessRequest,
    kind: LinkKind,
    now: datetime,
    *,
    not_after: datetime | None = None,
    **holder: Unpack[LinkHolder],
) -> tuple[str, LinkToken]:
    """Draw a link for a request; return its URL (with a placeholder) and the record to store.

    The URL holds the link id, not the token: the sender derives the token when it sends.
    """
    link_id = new_link_id()
    token = derive_link_token(services.settings.signing_secret, request.id, link_id)
    lifetime = timedelta(days=services.policy.organisation.link_lifetime_days)
    if kind == LinkKind.RENEW:
        # Sent before and at the end of a grant: it must outlive a holiday or two.
        lifetime = timedelta(days=RENEW_LINK_DAYS)
    expires_at = None if kind == LinkKind.STATUS else now + lifetime
    if expires_at is not None and not_after is not None:
        expires_at = min(expires_at, not_after)
    record = LinkToken(
        token_hash=token_hash(token),
        kind=kind,
        request_id=request.id,
        content_hash=content_hash(request),
        created_at=now,
        expires_at=expires_at,
        **holder,
    )
    url = link_url(
        services.settings.public_base_url, kind.value, link_placeholder(request.id, link_id)
    )
    if kind in (LinkKind.CONFIRM, LinkKind.STATUS, LinkKind.RENEW):
        # The requester's pages open in the language they filed in, whatever the browser says.
        url = f"{url}?lang={request.lang}"
    return url, record


def compose(
    services: Services,
    request: AccessRequest,
    template: str,
    recipients: Sequence[str],
    langs: Sequence[Lang],
    now: datetime,
    context: Mapping[str, Any],
) -> PendingEmail:
    """Render one e-mail about a request and the outbox entry that records it."""
    message = render_email(
        services.settings.templates_dir,
        template,
        langs,
        {"request": request, "policy": services.policy, **context},
    )
    entry = OutboxEntry(
        id=services.new_id(),
        request_id=request.id,
        template=template,
        recipients=tuple(recipients),
        created_at=now,
        message=OutboxMessage(
            subject=message.subject, text=message.text, html=message.html, lang=message.lang
        ),
    )
    return PendingEmail(entry=entry, message=message)


def to_requester(
    services: Services,
    request: AccessRequest,
    template: str,
    now: datetime,
    context: Mapping[str, Any],
) -> PendingEmail:
    """Render an e-mail about a request to its requester, in the language they filed in."""
    return compose(
        services, request, template, [request.content.email], [request.lang], now, context
    )


MAX_ATTEMPTS = 8
FIRST_RETRY_SECONDS = 60
LONGEST_WAIT_SECONDS = 6 * 3600


def next_attempt(now: datetime, attempts: int) -> datetime:
    """When to try again: exponential backoff with full jitter, capped."""
    ceiling = min(FIRST_RETRY_SECONDS * 2**attempts, LONGEST_WAIT_SECONDS)
    # Jitter only spreads retries over time; nothing secret or guessable depends on it.
    jitter = random.uniform(0, ceiling)  # noqa: S311  # nosec B311
    return now + timedelta(seconds=FIRST_RETRY_SECONDS / 2 + jitter)


def access_event(
    services: Services, request: AccessRequest, detail_type: AccessEventType, now: datetime
) -> PendingEmail:
    """The outbox entry that puts AccessGranted, AccessRevoked or AccessEnded on the bus."""
    assert request.access_until is not None
    granted = max((s.decided_at for s in request.steps if s.decided_at), default=now)
    end = {"AccessRevoked": request.revoked_at, "AccessEnded": request.ended_at}.get(detail_type)
    event = AccessEvent(
        detail_type=detail_type,
        request_id=request.id,
        reference=request.reference,
        requester=request.content.email,
        platforms=request.content.platforms,
        level=request.content.level,
        start=granted,
        end=end or request.access_until,
    )
    entry = OutboxEntry(
        id=services.new_id(),
        request_id=request.id,
        template=detail_type,
        recipients=(services.settings.event_bus,),
        created_at=now,
        event=event,
    )
    return PendingEmail(entry=entry, message=None)


def access_ended(
    services: Services, ended: AccessRequest, now: datetime
) -> tuple[list[LinkToken], list[PendingEmail]]:
    """The requester's "access ended" e-mail (status and renewal links) and `AccessEnded`."""
    status_url, status_link = issue_link(services, ended, LinkKind.STATUS, now)
    renew_url, renew_link = issue_link(services, ended, LinkKind.RENEW, now)
    context = {"status_url": status_url, "renew_url": renew_url}
    email = to_requester(services, ended, "access_ended", now, context)
    return [status_link, renew_link], [email, access_event(services, ended, "AccessEnded", now)]


def _send(services: Services, entry: OutboxEntry, message: RenderedEmail | None) -> str:
    if entry.event is not None:
        return publish(aws.events(), entry.recipients[0], entry.event, services.clock())
    if message is None:
        raise DeliveryFailed("no message kept for this entry", permanent=True)
    if any(check_address(r, services.policy) != (r, None) for r in entry.recipients):
        # Checked again here, whatever wrote the entry: only an address that passes the form's
        # check (no display name, no list, no line break, an allowed domain) reaches a header
        # or SES (issue 13, item 4).
        raise DeliveryFailed("not deliverable: recipient refused", permanent=True)
    secret = services.settings.signing_secret
    filled = RenderedEmail(
        subject=message.subject,
        text=fill_links(secret, message.text),
        html=fill_links(secret, message.html),
        lang=message.lang,
    )
    return send_email(
        aws.ses(),
        services.policy.organisation.sender,
        entry.recipients,
        filled,
        services.clock(),
        services.settings.ses_configuration_set,
        outbox_id=entry.id,
    )


def send_one(services: Services, entry: OutboxEntry, message: RenderedEmail | None) -> str:
    """Deliver one outbox entry and record the outcome; return "sent", "retry" or "failed"."""
    now = services.clock()
    try:
        message_id = _send(services, entry, message)
    except DeliveryFailed as error:
        return _record_failure(services, entry, error, now)
    except Exception as error:  # one broken entry must not stop the others
        # Rendering or building the MIME message failed (a recipient with a line break, a
        # broken template): no retry cures that. Only the type is kept: the message of the
        # error may quote the content, and the content, once filled, carries the links.
        log.error("outbox entry %s cannot be delivered: %s", entry.id, type(error).__name__)
        failure = DeliveryFailed(f"not deliverable: {type(error).__name__}", permanent=True)
        return _record_failure(services, entry, failure, now)
    try:
        services.store.mark_outbox_sent(entry.id, message_id, now)
    except DomainError as error:
        # Sent, but not marked: the entry stays pending and a later sweep may send it again
        # (the same message, with the same link): rare, and never a lost e-mail.
        log.warning("outbox entry %s sent but not marked: %s", entry.id, error)
    return "sent"


def _record_failure(
    services: Services, entry: OutboxEntry, error: DeliveryFailed, now: datetime
) -> str:
    """Mark an entry failed for good, or due again later; return "failed" or "retry"."""
    log.warning("delivery of outbox entry %s failed: %s", entry.id, error.reason)
    attempts = entry.attempts + 1
    try:
        if error.permanent or attempts >= MAX_ATTEMPTS:
            reason = error.reason if error.permanent else f"{error.reason} ({attempts} tries)"
            services.store.mark_outbox_failed(entry.id, reason, now, failed_retention(services))
            # Counted for the alarm the security team gets (docs/operations.md).
            metrics.emit({"FailedEvents" if entry.event else "FailedEmails": 1}, now)
            return "failed"
        services.store.mark_outbox_attempt_failed(
            entry.id, error.reason, now, next_attempt(now, attempts)
        )
    except DomainError as store_error:
        log.warning("outbox entry %s not updated: %s", entry.id, store_error)
    return "retry"


def failed_retention(services: Services) -> timedelta:
    """How long a failed entry is kept for the officers before DynamoDB's TTL collects it."""
    return timedelta(days=services.policy.rules.lifecycle.failed_delivery_retention_days)


def deliver(services: Services, emails: Sequence[PendingEmail]) -> None:
    """Send e-mails right after their transition committed; what fails waits for the sweep."""
    for pending in emails:
        send_one(services, pending.entry, pending.message)
