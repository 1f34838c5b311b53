"""The scheduled sweep: deliver whatever e-mail or bus event is still pending (a crash, a
throttled SES or EventBridge)."""

from __future__ import annotations

from collections import Counter

from ..notify.messages import RenderedEmail
from .context import Services
from .mail import send_one

LEASE_SECONDS = 120
BATCH = 100


def deliver_due(services: Services) -> dict[str, int]:
    """Send the pending e-mails that are due; return how many were sent, retried, failed.

    Each entry is claimed first (a conditional lease), so two sweeps running at the same
    instant never send the same e-mail twice. The stored message is sent as it was rendered:
    a retried e-mail carries the same link as the first attempt would have.
    """
    outcomes: Counter[str] = Counter()
    now = services.clock()
    for entry in services.store.due_outbox(now, BATCH):
        deliverable = entry.message is not None or entry.event is not None
        if not deliverable or not services.store.claim_outbox(entry.id, now, LEASE_SECONDS):
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
