"""Verify an ID token: signature against the provider's key set, then iss, aud/azp, exp, iat, nonce.

PyJWT and `cryptography` are imported inside the functions that need them, never at module
import: they weigh megabytes, move to a Lambda layer later, and `GET /` must not load them.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.identity import SignInFailure, SignInRefused, VerifiedIdentity

# Algorithms accepted for an ID token signature; never `none`, never a symmetric one.
ALLOWED_ALGORITHMS = ("RS256", "PS256", "ES256")
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "nonce")


class KeySet:
    """The provider's signing keys, fetched once and again only when a token names a new `kid`."""

    def __init__(self, fetch: Callable[[], Mapping[str, Any]]) -> None:
        self._fetch = fetch
        self._keys: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def key_for(self, kid: str | None, algorithm: str) -> Any:
        """Return the PyJWK for `kid`; an unknown `kid` refetches the set once (rotation)."""
        with self._lock:
            if self._keys is None:
                self._load()
            key = self._find(kid, algorithm)
            if key is None:
                # Keys rotate without a restart: one fresh look, then the answer is final.
                self._load()
                key = self._find(kid, algorithm)
        if key is None:
            raise SignInRefused(SignInFailure.UNKNOWN_KEY, f"no signing key with kid {kid!r}")
        return key

    def _load(self) -> None:
        from jwt import PyJWKSet
        from jwt.exceptions import PyJWKSetError

        self.fetches += 1
        try:
            key_set = PyJWKSet.from_dict(dict(self._fetch()))
        except PyJWKSetError as error:
            raise SignInRefused(SignInFailure.PROVIDER_UNREACHABLE, f"key set: {error}") from error
        self._keys = {}
        for jwk in key_set.keys:
            if jwk.public_key_use in (None, "sig"):
                self._keys[jwk.key_id or ""] = jwk

    def _find(self, kid: str | None, algorithm: str) -> Any:
        assert self._keys is not None
        if kid is None and len(self._keys) == 1:
            jwk = next(iter(self._keys.values()))
        else:
            jwk = self._keys.get(kid or "\0")
        if jwk is not None and jwk.algorithm_name != algorithm:
            # A key serves one algorithm: a token naming another one is not signed by it.
            raise SignInRefused(SignInFailure.BAD_SIGNATURE, f"key {kid!r} is not for {algorithm}")
        return jwk


def verify_id_token(
    id_token: str,
    *,
    keys: KeySet,
    issuer: str,
    client_id: str,
    nonce: str,
    now: datetime,
    leeway_seconds: int,
    max_age_seconds: int,
) -> dict[str, Any]:
    """Return the claims of a valid ID token, or raise SignInRefused with the first reason found."""
    import jwt

    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.exceptions.DecodeError as error:
        raise SignInRefused(SignInFailure.MALFORMED, str(error)) from error
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise SignInRefused(SignInFailure.BAD_SIGNATURE, f"algorithm {algorithm!r} not accepted")
    key = keys.key_for(header.get("kid"), str(algorithm))
    try:
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key,
            algorithms=[str(algorithm)],
            audience=client_id,
            issuer=issuer,
            # Time is judged below against the clock Sésame passes in, not PyJWT's own.
            options={
                "require": list(REQUIRED_CLAIMS),
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.exceptions.InvalidSignatureError as error:
        raise SignInRefused(SignInFailure.BAD_SIGNATURE, str(error)) from error
    except jwt.exceptions.InvalidAudienceError as error:
        raise SignInRefused(SignInFailure.WRONG_AUDIENCE, str(error)) from error
    except jwt.exceptions.InvalidIssuerError as error:
        raise SignInRefused(SignInFailure.WRONG_ISSUER, str(error)) from error
    except jwt.exceptions.InvalidTokenError as error:
        raise SignInRefused(SignInFailure.MALFORMED, str(error)) from error
    _check_authorized_party(claims, client_id)
    _check_times(claims, now, leeway_seconds, max_age_seconds)
    if not hmac.compare_digest(str(claims["nonce"]).encode(), nonce.encode()):
        raise SignInRefused(SignInFailure.WRONG_NONCE, "the nonce is not this attempt's")
    return claims


def _check_authorized_party(claims: Mapping[str, Any], client_id: str) -> None:
    # OIDC Core 3.1.3.7: with several audiences `azp` must be there; when there, it is us.
    audience = claims["aud"]
    several = isinstance(audience, list) and len(audience) > 1
    azp = claims.get("azp")
    if (several and azp is None) or (azp is not None and azp != client_id):
        raise SignInRefused(SignInFailure.WRONG_AUDIENCE, f"authorized party {azp!r}")


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SignInRefused(SignInFailure.MALFORMED, f"{name} is not a number")
    return float(value)


def _check_times(
    claims: Mapping[str, Any], now: datetime, leeway_seconds: int, max_age_seconds: int
) -> None:
    instant = now.timestamp()
    expires, issued = _number(claims, "exp"), _number(claims, "iat")
    if instant >= expires + leeway_seconds:
        raise SignInRefused(SignInFailure.EXPIRED, "the ID token is past its exp")
    if issued > instant + leeway_seconds:
        raise SignInRefused(SignInFailure.NOT_YET_VALID, "the ID token is issued in the future")
    if "nbf" in claims and _number(claims, "nbf") > instant + leeway_seconds:
        raise SignInRefused(SignInFailure.NOT_YET_VALID, "the ID token is not valid before nbf")
    if instant - issued > max_age_seconds + leeway_seconds:
        # A token minted long ago and kept is not a fresh sign-in, whatever its exp says.
        raise SignInRefused(SignInFailure.EXPIRED, "the ID token was issued too long ago")


def identity_from_claims(
    claims: Mapping[str, Any], *, id_token: str, roles_claim: str
) -> VerifiedIdentity:
    """Turn verified claims into the identity Sésame records (issuer and subject identify)."""
    tenant, oid = claims.get("tid"), claims.get("oid")
    # Entra ID's `sub` differs per application; its `oid` names the person in the tenant.
    subject = oid if isinstance(oid, str) and oid else claims["sub"]
    roles = claims.get(roles_claim, [])
    if isinstance(roles, str):
        roles = [roles]
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise SignInRefused(SignInFailure.MALFORMED, f"{roles_claim} is not a list of names")
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        # Entra puts the sign-in address in preferred_username when no e-mail is set.
        fallback = claims.get("preferred_username")
        email = fallback if isinstance(fallback, str) and "@" in fallback else None
    auth_time = claims.get("auth_time")
    amr = claims.get("amr")
    try:
        return VerifiedIdentity(
            issuer=str(claims["iss"]),
            subject=str(subject),
            tenant=tenant if isinstance(tenant, str) else None,
            email=email,
            name=claims.get("name") if isinstance(claims.get("name"), str) else None,
            roles=tuple(roles),
            auth_time=(
                datetime.fromtimestamp(auth_time, UTC)
                if isinstance(auth_time, int | float) and not isinstance(auth_time, bool)
                else None
            ),
            method="oidc:" + "+".join(amr) if isinstance(amr, list) and amr else "oidc",
            id_token=id_token,
        )
    except ValueError as error:
        raise SignInRefused(SignInFailure.MALFORMED, "a claim is out of bounds") from error
