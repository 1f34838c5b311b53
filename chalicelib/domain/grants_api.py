"""The grants API for machines: what it answers (the models its OpenAPI document is built from).

Pure: entries are built from requests and the catalogue passed in; the ETag is a hash of
the whole active set (see `set_etag`); cursors are positions in that set's stable order.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .catalogue import Catalogue
from .errors import DomainError
from .models import AccessRequest

CLIENT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{2,40}-[0-9a-f]{8}$"
MAX_PAGE = 500


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GrantPerson(_Out):
    """The person as the identity provider knows them (when known), and their e-mail."""

    issuer: str | None = Field(
        default=None,
        description="The OIDC issuer of the requester's sign-in when they filed signed in "
        "with the organisation's provider; null when they filed signed out",
    )
    subject: str | None = Field(
        default=None,
        description="The OIDC subject (Entra ID: the oid) of that sign-in; null when the "
        "issuer is null. With the issuer, the stable key of the person",
    )
    email: str = Field(description="What the proxy sees as the login (compare case-insensitively)")


class GrantEntry(_Out):
    """One active grant of one platform (a request for two platforms gives two entries)."""

    reference: str = Field(pattern=r"^[A-Z0-9]{8}$")
    request_id: str = Field(pattern=r"^[a-z0-9]{8,40}$")
    person: GrantPerson
    platform: str
    level: str
    start: datetime
    end: datetime
    domains: list[str] = Field(description="Each opens itself and its subdomains")


class GrantsPage(_Out):
    """One page of active grants; `next` is the cursor of the next page, null on the last."""

    grants: list[GrantEntry]
    next: str | None


class StepOut(_Out):
    """One approval step: its role, where it stands, when it was decided."""

    role: str
    status: str
    decided_at: datetime | None = None


class RequestStatusOut(_Out):
    """A request's status and steps for machines: no justification, comments or names."""

    reference: str
    request_id: str
    status: str
    created_at: datetime
    platforms: list[str]
    level: str
    access_until: datetime | None = None
    steps: list[StepOut]


class Problem(_Out):
    """An error as RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int = Field(ge=400, le=599)
    detail: str | None = None


class ApiClient(BaseModel):
    """A machine client: its id, the SHA-256 of its secret (never the secret), its state."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = Field(pattern=CLIENT_ID_PATTERN)
    name: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9 ._-]+$")
    secret_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    created_at: datetime
    created_by: str = Field(max_length=254)
    revoked_at: datetime | None = None
    revoked_by: str | None = Field(default=None, max_length=254)


class ApiClientOut(_Out):
    """A client as the console lists it (no hash)."""

    client_id: str
    name: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None


class BadCursor(DomainError):
    """The cursor was not one this API gave."""


def entries_of(
    requests: Iterable[AccessRequest], catalogue: Catalogue, now: datetime
) -> list[GrantEntry]:
    """Return the active grants as entries, in one stable order (end, request, platform).

    Active: approved, not ended at `now` (a grant starting later is listed; the helper
    waits for its start). A platform missing from the catalogue opens no domains.
    """
    domains = {p.id: list(p.domains) for p in catalogue.platforms}
    found: list[GrantEntry] = []
    for request in requests:
        if request.access_until is None or request.access_until <= now:
            continue
        decided = [s.decided_at for s in request.steps if s.decided_at]
        start = max(decided) if decided else request.created_at
        for platform in sorted(set(request.content.platforms)):
            found.append(
                GrantEntry(
                    reference=request.reference,
                    request_id=request.id,
                    person=person_of(request),
                    platform=platform,
                    level=request.content.level,
                    start=start,
                    end=request.access_until,
                    domains=domains.get(platform, []),
                )
            )
    found.sort(key=position)
    return found


def person_of(request: AccessRequest) -> GrantPerson:
    """Return the grant's holder: issuer and subject when they filed signed in, their e-mail."""
    known = request.requester_identity
    return GrantPerson(
        issuer=known.issuer if known else None,
        subject=known.subject if known else None,
        email=request.content.email.lower(),
    )


def position(entry: GrantEntry) -> str:
    """Return an entry's place in the set's order (also what a cursor holds)."""
    return f"{entry.end.isoformat()}#{entry.request_id}#{entry.platform}"


def set_etag(entries: Iterable[GrantEntry]) -> str:
    """Return a strong ETag of the whole set: a SHA-256 of its entries in their order.

    A hash, not a version counter: the set also changes with no write at all (a grant
    whose end passes leaves it), and a hash follows exactly what a reader would see.
    """
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(entry.model_dump_json().encode("utf-8") + b"\n")
    return '"' + digest.hexdigest()[:32] + '"'


def encode_cursor(entry: GrantEntry) -> str:
    """Return the opaque cursor that starts the page after `entry`."""
    raw = json.dumps({"after": position(entry)}).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> str:
    """Return the position a cursor starts after; BadCursor when it is not one of ours."""
    if len(cursor) > 400:
        raise BadCursor("cursor too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        after = json.loads(raw)["after"]
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise BadCursor("unreadable cursor") from error
    if not isinstance(after, str) or after.count("#") != 2:
        raise BadCursor("unreadable cursor")
    return after


def page_of(entries: list[GrantEntry], cursor: str | None, limit: int) -> GrantsPage:
    """Return the page of `limit` entries after the cursor's position."""
    limit = max(1, min(limit, MAX_PAGE))
    rest = entries
    if cursor:
        after = decode_cursor(cursor)
        rest = [e for e in entries if position(e) > after]
    page = rest[:limit]
    more = len(rest) > limit
    return GrantsPage(grants=page, next=encode_cursor(page[-1]) if more else None)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Tell whether an If-None-Match header names the current ETag (RFC 9110 weak compare)."""
    if not if_none_match:
        return False
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in wanted or etag in wanted


def status_of(request: AccessRequest) -> RequestStatusOut:
    """Return what a machine may know of a request: status and steps, no free text."""
    return RequestStatusOut(
        reference=request.reference,
        request_id=request.id,
        status=request.status.value,
        created_at=request.created_at,
        platforms=list(request.content.platforms),
        level=request.content.level,
        access_until=request.access_until,
        steps=[
            StepOut(role=s.role, status=s.status.value, decided_at=s.decided_at)
            for s in request.steps
        ],
    )


ProblemKind = Literal["unauthorized", "rate", "not_found", "bad_request", "unavailable"]
