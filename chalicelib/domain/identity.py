"""Who signed in with the organisation's provider, and why a sign-in was refused."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.errors import DomainError


class SignInFailure(StrEnum):
    """Why a sign-in with the provider was refused; a page translates each one."""

    TAMPERED_STATE = "tampered_state"  # the callback's `state` is not the one this browser sent
    REPLAYED_CODE = "replayed_code"  # this sign-in attempt was completed already
    PROVIDER_REFUSED = "provider_refused"  # the provider answered with an error (e.g. no PKCE)
    CODE_REJECTED = "code_rejected"  # the token endpoint refused the code (verifier, reuse)
    WRONG_NONCE = "wrong_nonce"  # the ID token belongs to another sign-in attempt
    EXPIRED = "expired"  # the ID token is past its `exp`, or too old
    NOT_YET_VALID = "not_yet_valid"  # the ID token claims to be issued in the future
    BAD_SIGNATURE = "bad_signature"  # the signature does not verify with the provider's key
    UNKNOWN_KEY = "unknown_key"  # no key of the provider's key set has the token's `kid`
    WRONG_AUDIENCE = "wrong_audience"  # the ID token was issued for another client
    WRONG_ISSUER = "wrong_issuer"  # the ID token or the discovery names another issuer
    MALFORMED = "malformed"  # the ID token is not a JWT, or a claim is missing or mistyped
    PROVIDER_UNREACHABLE = "provider_unreachable"  # no answer, a timeout or a server error
    # The ID token's address is outside the organisation's allowed domains (a misconfigured
    # provider, or a guest account): such a person would otherwise receive approval links.
    DOMAIN_NOT_ALLOWED = "domain_not_allowed"


class SignInRefused(DomainError):
    """A sign-in with the provider failed; nothing may be stored but the audited reason."""

    def __init__(self, reason: SignInFailure, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        # For the audit log and the operator, never for the page: may name provider internals.
        self.detail = detail[:300]


class PendingSignIn(BaseModel):
    """A sign-in sent to the provider and not yet back: kept server-side until its callback."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: str = Field(min_length=32, max_length=128)
    nonce: str = Field(min_length=32, max_length=128)
    code_verifier: str = Field(min_length=43, max_length=128)
    redirect_uri: str = Field(min_length=1, max_length=2000)
    authorization_url: str = Field(min_length=1, max_length=8000)
    created_at: datetime


class VerifiedIdentity(BaseModel):
    """A person as the provider vouches for them: issuer and subject identify them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str = Field(min_length=1, max_length=500)
    # Entra ID: the `oid` (the same in every application of the tenant); elsewhere `sub`.
    subject: str = Field(min_length=1, max_length=255)
    tenant: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=254)
    name: str | None = Field(default=None, max_length=200)
    roles: tuple[str, ...] = Field(default=(), max_length=200)
    auth_time: datetime | None = None
    method: str = Field(default="oidc", max_length=100)
    # Kept for RP-initiated logout (`id_token_hint`); not an identity attribute.
    id_token: str = Field(default="", max_length=20000, repr=False)


class VerifiedPerson(BaseModel):
    """Who the provider vouched for, as a session and an audit event record it (no token)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str = Field(min_length=1, max_length=500)
    subject: str = Field(min_length=1, max_length=255)
    tenant: str | None = Field(default=None, max_length=255)
    email: str = Field(min_length=3, max_length=254)
    name: str | None = Field(default=None, max_length=200)
    # Sésame roles the ID token's roles map to (e.g. "security"), not the provider's names.
    roles: tuple[str, ...] = Field(default=(), max_length=50)
    method: str = Field(default="oidc", max_length=100)
    auth_time: datetime | None = None


class ProviderRef(BaseModel):
    """A person as the provider names them for good: issuer and subject, no other claim."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str = Field(min_length=1, max_length=500)
    subject: str = Field(min_length=1, max_length=255)


def verified_person(
    identity: VerifiedIdentity, roles: frozenset[str] | tuple[str, ...]
) -> VerifiedPerson:
    """Keep what Sésame records of a verified identity; one with no address is refused."""
    if not identity.email:
        raise SignInRefused(SignInFailure.MALFORMED, "the ID token carries no e-mail address")
    return VerifiedPerson(
        issuer=identity.issuer,
        subject=identity.subject,
        tenant=identity.tenant,
        email=identity.email.strip().lower(),
        name=identity.name,
        roles=tuple(sorted(roles)),
        method=identity.method,
        auth_time=identity.auth_time,
    )
