"""The grants API's use cases: authenticate a machine, rate-limit it, answer it, audit it.

Each use case returns an `ApiAnswer` (status, JSON body, headers) so that a route is a few
lines: read the Authorization header and the query, call one function, return the answer.
Errors are RFC 9457 problem details with the right status.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from ..domain.errors import DomainError, ServiceUnavailable
from ..domain.grants_api import (
    ApiClient,
    BadCursor,
    Problem,
    entries_of,
    etag_matches,
    page_of,
    set_etag,
    status_of,
)
from ..domain.models import AuditEvent
from ..store.api_clients import ApiClientStore
from ..store.console import RequestFilter
from .audit import new_event
from .context import Services

log = logging.getLogger(__name__)
REALM = "sesame-grants"
CALLS_PER_MINUTE = 60
PAGE_SIZE = 200
REFERENCE_LENGTH = 8
# Compared against when the client id is unknown, so a wrong id costs the same as a wrong secret.
_DUMMY_HASH = hashlib.sha256(b"no such client").hexdigest()


@dataclass(frozen=True)
class ApiAnswer:
    """What a route returns: status, JSON body (None for 304) and headers."""

    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


class ApiProblem(Exception):
    """A refusal the API answers with problem details."""

    def __init__(self, status: int, title: str, detail: str | None = None, **headers: str):
        super().__init__(title)
        self.answer = problem(status, title, detail, **headers)


def problem(status: int, title: str, detail: str | None = None, **headers: str) -> ApiAnswer:
    """Return an RFC 9457 answer (`application/problem+json`)."""
    body = Problem(title=title, status=status, detail=detail).model_dump(exclude_none=True)
    return ApiAnswer(
        status,
        body,
        {"Content-Type": "application/problem+json", "Cache-Control": "no-store", **headers},
    )


def hash_secret(secret: str) -> str:
    """Return the stored form of a secret: SHA-256 (32 random bytes need no slow hash)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or len(authorization) > 512:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    return (client_id, secret) if colon and client_id and secret else None


def authenticate(store: ApiClientStore, authorization: str | None) -> ApiClient:
    """Return the calling client; ApiProblem 401 for a missing, wrong or revoked credential."""
    refused = ApiProblem(401, "Unauthorized", **{"WWW-Authenticate": f'Basic realm="{REALM}"'})
    given = _credentials(authorization)
    if given is None:
        raise refused
    client_id, secret = given
    known = store.get(client_id) if len(client_id) <= 60 else None
    expected = known.secret_hash if known else _DUMMY_HASH
    # Constant time whatever the client: the comparison runs even for an unknown id.
    matches = hmac.compare_digest(hash_secret(secret), expected)
    if known is None or not matches or known.revoked_at is not None:
        raise refused
    return known


def _audit(services: Services, api_client: ApiClient, what: str, request_id: str | None) -> None:
    event = new_event(
        services,
        "api_read",
        f"api:{api_client.client_id}",
        "api",
        request_id=request_id,
        reason=what[:200],
    )
    services.store.audit.append(event)


def _admit(services: Services, store: ApiClientStore, authorization: str | None) -> ApiClient:
    api_client = authenticate(store, authorization)
    if not store.count_call(api_client.client_id, services.clock(), CALLS_PER_MINUTE):
        raise ApiProblem(
            429, "Too Many Requests", "over the client's rate", **{"Retry-After": "60"}
        )
    return api_client


def list_grants(
    services: Services,
    store: ApiClientStore,
    authorization: str | None,
    *,
    cursor: str | None = None,
    if_none_match: str | None = None,
    limit: int = PAGE_SIZE,
) -> ApiAnswer:
    """Answer `GET /api/v1/grants`: one page, the ETag of the whole set, or 304."""
    try:
        api_client = _admit(services, store, authorization)
        now = services.clock()
        # The whole set is read (Queries on the Grants index) so the ETag covers all of it.
        requests = services.store.console.all_grants(RequestFilter(), now)
        entries = entries_of(requests, services.policy.catalogue, now)
        etag = set_etag(entries)
        headers = {"ETag": etag, "Cache-Control": "no-store"}
        if not cursor and etag_matches(if_none_match, etag):
            _audit(services, api_client, "grants: not modified", None)
            return ApiAnswer(304, None, headers)
        page = page_of(entries, cursor, limit)
        _audit(services, api_client, f"grants: {len(page.grants)} entries", None)
        return ApiAnswer(200, page.model_dump(mode="json"), headers)
    except ApiProblem as refusal:
        return refusal.answer
    except BadCursor:
        return problem(400, "Bad Request", "unreadable cursor")
    except ServiceUnavailable:
        return problem(503, "Service Unavailable", **{"Retry-After": "5"})


def request_status(
    services: Services, store: ApiClientStore, authorization: str | None, reference: str
) -> ApiAnswer:
    """Answer `GET /api/v1/requests/{reference}`: status and steps, never the justification."""
    try:
        api_client = _admit(services, store, authorization)
        wanted = reference.upper()
        found = (
            services.store.load_by_reference(wanted)
            if wanted.isascii() and wanted.isalnum() and len(wanted) == REFERENCE_LENGTH
            else None
        )
        if found is None:
            _audit(services, api_client, f"request {wanted[:40]}: not found", None)
            return problem(404, "Not Found")
        _audit(services, api_client, f"request {found.reference}", found.id)
        return ApiAnswer(
            200, status_of(found).model_dump(mode="json"), {"Cache-Control": "no-store"}
        )
    except ApiProblem as refusal:
        return refusal.answer
    except ServiceUnavailable:
        return problem(503, "Service Unavailable", **{"Retry-After": "5"})


def client_store(services: Services) -> ApiClientStore:
    """Return the store of API clients in the services' main table."""
    from .. import aws

    return ApiClientStore(aws.dynamodb(), services.settings.main_table)


def new_secret() -> str:
    """Return a new client secret (32 random bytes, URL-safe)."""
    return secrets.token_urlsafe(32)


def create_client(
    services: Services, store: ApiClientStore, name: str, officer: str
) -> tuple[ApiClient, str]:
    """Create a client for `name`; return it and its secret (shown once, never stored)."""
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")[:40] or "client"
    secret = new_secret()
    api_client = ApiClient(
        client_id=f"{slug:-<3}-{secrets.token_hex(4)}",
        name=name,
        secret_hash=hash_secret(secret),
        created_at=services.clock(),
        created_by=officer,
    )
    store.create(api_client)
    _officer_event(services, "api_client_created", officer, api_client.client_id)
    return api_client, secret


def revoke_client(services: Services, store: ApiClientStore, client_id: str, officer: str) -> bool:
    """Revoke a client (its next call gets 401); False when unknown or already revoked."""
    known = store.get(client_id) if len(client_id) <= 60 else None
    if known is None or known.revoked_at is not None:
        return False
    try:
        store.revoke(known, services.clock(), officer)
    except DomainError:
        return False
    _officer_event(services, "api_client_revoked", officer, client_id)
    return True


def list_clients(store: ApiClientStore) -> list[ApiClient]:
    """Return every client (the console lists them, revoked ones marked)."""
    return sorted(store.all(), key=lambda c: c.created_at)


def _officer_event(services: Services, action: str, officer: str, client_id: str) -> None:
    event = AuditEvent.model_validate(
        {
            "request_id": None,
            "event_id": services.new_id(),
            "at": services.clock(),
            "action": action,
            "actor": officer,
            "via": "console",
            "reason": f"client {client_id}",
        }
    )
    services.store.audit.append(event)
