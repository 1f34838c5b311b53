"""Sign-in links and sessions: what they hold and when they stop working (pure; time passed in)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from .identity import VerifiedPerson
from .models import Lang
from .next_path import MAX_NEXT_PATH

SIGNIN_LINK_LIFETIME = timedelta(minutes=15)
SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=8)
# A session's last activity is written at most this often (a write per page is wasteful).
SESSION_TOUCH_INTERVAL = timedelta(seconds=60)


class _Model(BaseModel):
    # Built on first use, not at import (cold start: the form does not sign anyone in).
    model_config = ConfigDict(extra="forbid", defer_build=True)


class SigninLink(_Model):
    """A one-time sign-in link (stored under the SHA-256 of its token only)."""

    token_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    email: str = Field(min_length=3, max_length=254)
    created_at: datetime
    expires_at: datetime
    next_path: str = Field(default="", max_length=MAX_NEXT_PATH)
    lang: Lang = "fr"
    used_at: datetime | None = None


class Session(_Model):
    """A signed-in person (stored under the SHA-256 of the cookie's value only)."""

    session_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    email: str = Field(min_length=3, max_length=254)
    created_at: datetime
    last_seen_at: datetime
    # Set when the person signed in with the organisation's provider (issue 15); None for a
    # session opened by an e-mail link (the address is then all Sésame knows).
    identity: VerifiedPerson | None = None
    # Sésame roles resolved at sign-in from the ID token and the directory's groups (issue 15),
    # so pages never ask the directory; the policy's own lists are read live beside them.
    roles: tuple[str, ...] = Field(default=(), max_length=50)


class SessionState(StrEnum):
    """Whether a session still lets its holder in."""

    ACTIVE = "active"
    IDLE = "idle"  # no activity for longer than the idle timeout
    EXPIRED = "expired"  # older than the absolute timeout


def new_signin_link(
    token_hash: str, email: str, now: datetime, next_path: str, lang: Lang
) -> SigninLink:
    """Build a sign-in link valid for 15 minutes."""
    return SigninLink(
        token_hash=token_hash,
        email=email,
        created_at=now,
        expires_at=now + SIGNIN_LINK_LIFETIME,
        next_path=next_path,
        lang=lang,
    )


def signin_link_expired(link: SigninLink, now: datetime) -> bool:
    """Tell whether a sign-in link is past its expiry (valid up to and including it)."""
    return now > link.expires_at


def session_state(session: Session, now: datetime) -> SessionState:
    """Judge a session against the absolute (8 h) and idle (30 min) timeouts."""
    if now - session.created_at > SESSION_ABSOLUTE_TIMEOUT:
        return SessionState.EXPIRED
    if now - session.last_seen_at > SESSION_IDLE_TIMEOUT:
        return SessionState.IDLE
    return SessionState.ACTIVE


def needs_touch(session: Session, now: datetime) -> bool:
    """Tell whether the session's last activity should be written now."""
    return now - session.last_seen_at >= SESSION_TOUCH_INTERVAL
