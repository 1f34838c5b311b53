"""Compose the e-mails a transition causes, and deliver them once the transition is committed."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .. import aws
from ..domain.errors import DomainError
from ..domain.models import AccessRequest, Lang, LinkKind, LinkToken, OutboxEntry
from ..domain.workflow import content_hash
from ..links import link_url, new_token, token_hash
from ..notify.messages import RenderedEmail, render_email
from ..notify.ses import DeliveryFailed, send_email
from .context import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingEmail:
    """An outbox entry and the message it stands for (the message holds the raw link)."""

    entry: OutboxEntry
    message: RenderedEmail


def issue_link(
    services: Services,
    request: AccessRequest,
    kind: LinkKind,
    now: datetime,
    *,
    step: int | None = None,
    approver: str | None = None,
    on_behalf_of: str | None = None,
    not_after: datetime | None = None,
) -> tuple[str, LinkToken]:
    """Draw a link for a request; return its URL (sent once) and the record to store."""
    token = new_token()
    lifetime = timedelta(days=services.policy.organisation.link_lifetime_days)
    expires_at = None if kind == LinkKind.STATUS else now + lifetime
    if expires_at is not None and not_after is not None:
        expires_at = min(expires_at, not_after)
    record = LinkToken(
        token_hash=token_hash(token),
        kind=kind,
        request_id=request.id,
        step=step,
        approver=approver,
        on_behalf_of=on_behalf_of,
        content_hash=content_hash(request),
        created_at=now,
        expires_at=expires_at,
    )
    return link_url(services.settings.public_base_url, kind.value, token), record


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
    )
    return PendingEmail(entry=entry, message=message)


def deliver(services: Services, emails: Sequence[PendingEmail]) -> None:
    """Send committed e-mails; a failure leaves the entry pending and visible, never raises."""
    sender = services.policy.organisation.sender
    for pending in emails:
        now = services.clock()
        try:
            message_id = send_email(
                aws.ses(),
                sender,
                pending.entry.recipients,
                pending.message,
                now,
                services.settings.ses_configuration_set,
                outbox_id=pending.entry.id,
            )
            services.store.mark_outbox_sent(pending.entry.id, message_id, now)
        except DeliveryFailed as error:
            log.warning("delivery of outbox entry %s failed: %s", pending.entry.id, error)
            _record_failure(services, pending.entry.id, str(error), now)
        except DomainError as error:
            # Sent, but the outbox could not be updated: the entry stays pending, and is
            # visible as such; the transition itself is committed and stands.
            log.warning("outbox entry %s sent but not marked: %s", pending.entry.id, error)


def _record_failure(services: Services, outbox_id: str, reason: str, now: datetime) -> None:
    try:
        services.store.mark_outbox_attempt_failed(outbox_id, reason, now)
    except DomainError as error:
        log.warning("outbox entry %s failure not recorded: %s", outbox_id, error)
