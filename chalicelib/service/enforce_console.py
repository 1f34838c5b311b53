"""What the officers' console asks of enforcement and the grants API: failures, retries,
reconciliation on demand, a grant's access, the API clients.

Each use case works whether enforcement is on or off (`SESAME_LDAP_URL` unset: no failure,
no access state, a reconciliation that skips), so the console pages exist on every stage.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.enforcement import AccessState
from ..domain.errors import NotFound
from ..domain.grants_api import ApiClient
from ..domain.models import ClientInfo
from . import grants_api
from .audit import new_event
from .console import FailedDelivery, failed_deliveries
from .context import Services
from .enforce import access_of, failures, retry_failure
from .enforce_setup import get_enforcer, run_reconciliation


@dataclass(frozen=True)
class Failures:
    """The console's "Échecs": one page of failed e-mails, and every lasting access failure."""

    deliveries: list[FailedDelivery]
    next_key: dict[str, object] | None
    access: list[AccessState]
    enforcement_on: bool


def failures_page(services: Services, limit: int, start: dict[str, object] | None) -> Failures:
    """Return failed deliveries (one page) and enforcement failures (newest first)."""
    rows, next_key = failed_deliveries(services, limit, start)
    enforcer = get_enforcer()
    access = failures(enforcer) if enforcer else []
    return Failures(rows, next_key, access, enforcer is not None)


def retry_access(request_id: str, group: str, email: str) -> AccessState:
    """Apply a failed access change again; NotFound when there is no such failure."""
    enforcer = get_enforcer()
    found = retry_failure(enforcer, request_id, group, email) if enforcer else None
    if found is None:
        raise NotFound("access failure")
    return found


def reconcile_now(services: Services, officer: str, client: ClientInfo) -> dict[str, int]:
    """Reconcile the owned groups now, the officer's request audited before the run."""
    event = new_event(services, "reconciliation_requested", officer, "console", client=client)
    services.store.audit.append(event)
    return run_reconciliation()


def access_of_request(request_id: str) -> list[AccessState]:
    """Return, per group, whether a grant's access is applied and since when (none when off)."""
    enforcer = get_enforcer()
    return access_of(enforcer, request_id) if enforcer else []


def api_clients(services: Services) -> list[ApiClient]:
    """Return every API client, oldest first (revoked ones included, marked)."""
    return grants_api.list_clients(grants_api.client_store(services))


def create_api_client(services: Services, name: str, officer: str) -> tuple[ApiClient, str]:
    """Create an API client; return it and its secret (shown once, never stored)."""
    return grants_api.create_client(services, grants_api.client_store(services), name, officer)


def revoke_api_client(services: Services, client_id: str, officer: str) -> bool:
    """Revoke an API client; False when unknown or already revoked."""
    return grants_api.revoke_client(services, grants_api.client_store(services), client_id, officer)
