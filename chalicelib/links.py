"""E-mail link tokens: 32 random bytes from `secrets`; only their SHA-256 is ever stored."""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 32
# token_urlsafe(32) gives 43 characters of the URL-safe base64 alphabet.
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_token() -> str:
    """Draw a fresh link token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """Return the SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def well_formed(token: str) -> bool:
    """Tell whether a string could be one of our tokens (cheap check before any lookup)."""
    return bool(TOKEN_RE.match(token))


def link_url(base_url: str, kind: str, token: str) -> str:
    """Build a link from the configured public base URL (never from the request's Host)."""
    return f"{base_url}/{kind}/{token}"
