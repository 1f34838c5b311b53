"""E-mail link tokens: 32 random bytes from `secrets`; only their SHA-256 is ever stored.

An e-mail link's token is `<request id>.<random>`: the request id is not secret (the link's
holder may see the request anyway) and lets the link, its request, the chain head and the
counters be read in one round trip. The whole token is hashed, so the id cannot be swapped.
"""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 32
# token_urlsafe(32) gives 43 characters of the URL-safe base64 alphabet.
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
# A request id (AccessRequest.id), a dot, a token; links issued before had no prefix.
LINK_TOKEN_RE = re.compile(r"^(?:([a-z0-9]{8,40})\.)?[A-Za-z0-9_-]{43}$")


def new_token() -> str:
    """Draw a fresh link token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_link_token(request_id: str) -> str:
    """Draw a fresh e-mail link token naming its request."""
    return f"{request_id}.{new_token()}"


def link_well_formed(token: str) -> bool:
    """Tell whether a string could be one of our e-mail link tokens (checked before any read)."""
    return bool(LINK_TOKEN_RE.match(token))


def link_request_id(token: str) -> str | None:
    """Return the request id a well-formed link token names (None for a link without one)."""
    match = LINK_TOKEN_RE.match(token)
    return match.group(1) if match else None


def token_hash(token: str) -> str:
    """Return the SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def well_formed(token: str) -> bool:
    """Tell whether a string could be one of our tokens (cheap check before any lookup)."""
    return bool(TOKEN_RE.match(token))


def link_url(base_url: str, kind: str, token: str) -> str:
    """Build a link from the configured public base URL (never from the request's Host)."""
    return f"{base_url}/{kind}/{token}"
