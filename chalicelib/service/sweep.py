"""The scheduled sweep: deliver whatever e-mail or bus event is still pending (a crash, a
throttled SES or EventBridge)."""

from __future__ import annotations

import logging
from collections import Counter

from ..domain.errors import DomainError
from ..notify.messages import RenderedEmail
from .context import Services
from .mail import send_one

log = logging.getLogger(__name__)
LEASE_SECONDS = 120
BATCH = 100


def deliver_due(services: Services) -> dict[str, int]:
    """Send the pending e-mails that are due; return how many were sent, retried, failed.

    Each entry is claimed first (a conditional lease), so two sweeps running at the same
    instant never send the same e-mail twice. The stored message is sent as it was rendered,
    its links derived again from their ids: a retried e-mail carries the same link. An entry
    that cannot be rendered or sent is marked failed and the sweep goes on to the next.
    """
    outcomes: Counter[str] = Counter()
    now = services.clock()
    for entry in services.store.due_outbox(now, BATCH):
        deliverable = entry.message is not None or entry.event is not None
        try:
            claimed = deliverable and services.store.claim_outbox(entry.id, now, LEASE_SECONDS)
        except DomainError as error:
            # Throttled or unavailable: this entry waits for the next sweep, the others go on.
            log.warning("outbox entry %s not claimed: %s", entry.id, error)
            claimed = False
        if not claimed:
            outcomes["skipped"] += 1
            continue
        message = (
            RenderedEmail(
                subject=entry.message.subject,
                text=entry.message.text,
                html=entry.message.html,
                lang=entry.message.lang,
            )
            if entry.message is not None
            else None
        )
        outcomes[send_one(services, entry, message)] += 1
    return {key: outcomes.get(key, 0) for key in ("sent", "retry", "failed", "skipped")}
