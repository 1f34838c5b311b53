"""E-mail link tokens: only their SHA-256 is ever stored, and no usable token is at rest.

An e-mail link's token is `<request id>.<secret part>`: the request id is not secret (the
link's holder may see the request anyway) and lets the link, its request, the chain head and
the counters be read in one round trip. The whole token is hashed, so the id cannot be swapped.

The secret part of an e-mail link is an HMAC-SHA-256 of a random link id under the signing
secret. The outbox keeps the message with a placeholder naming the link id, and the sender
fills the token in when it sends: a retry sends the same link, and whoever reads the table
or a backup (without the secret, which lives in SSM) cannot act on it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
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


LINK_ID_BYTES = 16
# What the outbox keeps in place of a token: the request id and the random link id.
PLACEHOLDER_RE = re.compile(r"sesame-link:([a-z0-9]{8,40}):([A-Za-z0-9_-]{22})")


def new_link_id() -> str:
    """Draw the random id an e-mail link's token is derived from."""
    return secrets.token_urlsafe(LINK_ID_BYTES)


def derive_link_token(secret: bytes, request_id: str, link_id: str) -> str:
    """Return the token of a link id: `<request id>.<HMAC-SHA-256 of the id, 43 characters>`."""
    # The label keeps these MACs apart from the CSRF and cursor signatures under the same key.
    mac = hmac.new(secret, f"sesame-link\x00{request_id}\x00{link_id}".encode(), "sha256")
    return f"{request_id}.{base64.urlsafe_b64encode(mac.digest()).rstrip(b'=').decode()}"


def link_placeholder(request_id: str, link_id: str) -> str:
    """Return what a rendered message holds where the token goes (nothing usable)."""
    return f"sesame-link:{request_id}:{link_id}"


def fill_links(secret: bytes, text: str) -> str:
    """Put the derived token in place of every placeholder of a message, at send time."""
    return PLACEHOLDER_RE.sub(
        lambda match: derive_link_token(secret, match.group(1), match.group(2)), text
    )


def link_well_formed(token: str) -> bool:
    """Tell whether a string could be one of our e-mail link tokens (checked before any read)."""
    return bool(LINK_TOKEN_RE.fullmatch(token))


def link_request_id(token: str) -> str | None:
    """Return the request id a well-formed link token names (None for a link without one)."""
    match = LINK_TOKEN_RE.fullmatch(token)
    return match.group(1) if match else None


def token_hash(token: str) -> str:
    """Return the SHA-256 (hex) under which a token is stored."""
    # Tokens are ASCII; anything else typed in a link path hashes too (and matches nothing)
    # rather than raise: a stray character gets the unknown-link page, never a 500.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def well_formed(token: str) -> bool:
    """Tell whether a string could be one of our tokens (cheap check before any lookup)."""
    # fullmatch: `$` would also accept a trailing line break.
    return bool(TOKEN_RE.fullmatch(token))


def link_url(base_url: str, kind: str, token: str) -> str:
    """Build a link from the configured public base URL (never from the request's Host)."""
    return f"{base_url}/{kind}/{token}"
