"""The console's integrity page: the log checked against its anchors, and "digest now".

Both are the officers' (the views guard the role and the form token); asking for a digest
is itself audited, with what came of it ("written" on the local stack, "asked" deployed).
"""

from __future__ import annotations

from typing import Literal

from ..domain.digest_check import AnchorVerdict
from ..domain.models import ClientInfo
from .audit import new_event
from .audit_integrity import check_integrity
from .context import Services
from .digest import get_digest_deps
from .digest_on_demand import request_digest


def integrity() -> AnchorVerdict:
    """Check the chain, the signed digests and the requests' fingerprints (read-only)."""
    return check_integrity(get_digest_deps())


def digest_now(services: Services, officer: str, client: ClientInfo) -> Literal["written", "asked"]:
    """Write a digest now (or ask the digest function for one) and audit who asked."""
    now = services.clock()
    outcome = request_digest(services.settings.stage, now)
    event = new_event(
        services,
        "digest_requested",
        officer,
        "console",
        at=now,
        client=client,
        comment=outcome,
    )
    services.store.audit.append(event)
    return outcome
