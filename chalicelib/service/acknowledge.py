"""Use cases of the usage policy as people acknowledge it (not only requests)."""

from __future__ import annotations

from ..domain.awareness import Acknowledgement
from ..domain.errors import Conflict
from ..domain.models import ClientInfo
from .audit import new_event
from .awareness import trust_store
from .context import Services


def acknowledge_policy(services: Services, person: str, client: ClientInfo) -> Acknowledgement:
    """Record that a person acknowledged the current usage policy (once per version)."""
    version = services.policy.version
    store = trust_store(services)
    already = store.acknowledgement(person, version)
    if already is not None:
        return already
    now = services.clock()
    ack = Acknowledgement(person=person, policy_version=version, at=now)
    event = new_event(
        services,
        "policy_acknowledged",
        person[:254],
        "form",
        at=now,
        client=client,
        comment=f"usage policy {version}",
    )
    try:
        store.record_acknowledgement(ack, event)
    except Conflict:
        # A second click at the same instant: the first one's record stands.
        found = store.acknowledgement(person, version)
        if found is None:
            raise
        return found
    return ack


def has_acknowledged(services: Services, person: str, version: str | None = None) -> bool:
    """Tell whether a person acknowledged a usage-policy version (default: the current one)."""
    wanted = version or services.policy.version
    return trust_store(services).acknowledgement(person, wanted) is not None
