"""Signed, time-limited tokens for forms (CSRF and idempotent submission)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

FORM_TOKEN_LIFETIME_SECONDS = 24 * 3600
DECISION_TOKEN_LIFETIME_SECONDS = 4 * 3600


def _sign(secret: bytes, purpose: str, payload: str) -> str:
    mac = hmac.new(secret, f"{purpose}|{payload}".encode(), hashlib.sha256)
    return mac.hexdigest()


def issue(secret: bytes, purpose: str, bound_to: str, now: datetime) -> str:
    """Issue a token for one purpose, bound to a value (a link's hash, or a fresh nonce)."""
    nonce = secrets.token_urlsafe(16)
    issued = str(int(now.timestamp()))
    payload = f"{nonce}.{issued}"
    return f"{payload}.{_sign(secret, purpose, f'{bound_to}|{payload}')}"


def verify(
    secret: bytes, purpose: str, bound_to: str, token: str, now: datetime, lifetime: int
) -> str | None:
    """Return the token's nonce when it is genuine, bound to that value and fresh; else None."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 200:
        return None
    nonce, issued, signature = parts
    expected = _sign(secret, purpose, f"{bound_to}|{nonce}.{issued}")
    if not hmac.compare_digest(expected, signature) or not issued.isdigit():
        return None
    age = now.timestamp() - int(issued)
    if age < -60 or age > lifetime:
        return None
    return nonce
