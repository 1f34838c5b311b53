"""Sésame as an OpenID Connect relying party: authorization code flow with PKCE, state and nonce.

One `OidcClient` per process and provider: it caches the discovery document and the key set.
The randomness and the clock come from the two arguments `random_token` and `clock`, so tests
and the domain's rules see the same instants.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from chalicelib.adapters.oidc_http import Transport, check_url, json_object, urllib_transport
from chalicelib.adapters.oidc_tokens import KeySet, identity_from_claims, verify_id_token
from chalicelib.domain.identity import (
    PendingSignIn,
    SignInFailure,
    SignInRefused,
    VerifiedIdentity,
)

DISCOVERY_PATH = "/.well-known/openid-configuration"


class OidcClientConfig(BaseModel):
    """What Sésame knows of the provider and of its own registration there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str = Field(min_length=1, max_length=500)
    client_id: str = Field(min_length=1, max_length=255)
    client_secret: SecretStr
    redirect_uri: str = Field(min_length=1, max_length=2000)
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    roles_claim: str = Field(default="roles", min_length=1, max_length=100)
    timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    leeway_seconds: int = Field(default=60, ge=0, le=300)
    # How old an ID token may be when it reaches the callback (it was minted for this sign-in).
    max_token_age_seconds: int = Field(default=600, ge=30, le=3600)

    @field_validator("issuer", "redirect_uri")
    @classmethod
    def _https_or_loopback(cls, value: str) -> str:
        try:
            return check_url(value, "URL")
        except SignInRefused as error:
            raise ValueError(error.detail) from error

    @field_validator("scopes")
    @classmethod
    def _openid_scope(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "openid" not in value:
            raise ValueError("the scopes must include openid")
        return value


def pkce_challenge(verifier: str) -> str:
    """Return the S256 code challenge of a PKCE verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    """Start a sign-in at the provider and verify what comes back to the callback."""

    def __init__(
        self,
        config: OidcClientConfig,
        *,
        transport: Transport = urllib_transport,
        random_token: Callable[[int], str] = secrets.token_urlsafe,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self._transport = transport
        self._random_token = random_token
        self._clock = clock
        self._discovery: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self.keys = KeySet(self._fetch_key_set)

    def discovery(self) -> dict[str, Any]:
        """Return the provider's discovery document, fetched once and checked (cached)."""
        with self._lock:
            if self._discovery is None:
                self._discovery = self._fetch_discovery()
            return self._discovery

    def begin(self) -> PendingSignIn:
        """Prepare one sign-in: fresh state, nonce and PKCE verifier, and the URL to send to."""
        endpoint = self._endpoint("authorization_endpoint")
        state, nonce, verifier = (self._random_token(32) for _ in range(3))
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.config.client_id,
                "redirect_uri": self.config.redirect_uri,
                "scope": " ".join(self.config.scopes),
                "state": state,
                "nonce": nonce,
                "code_challenge": pkce_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if urlsplit(endpoint).query else "?"
        return PendingSignIn(
            state=state,
            nonce=nonce,
            code_verifier=verifier,
            redirect_uri=self.config.redirect_uri,
            authorization_url=f"{endpoint}{separator}{query}",
            created_at=self._clock(),
        )

    def complete(
        self,
        pending: PendingSignIn,
        callback: Mapping[str, str],
        *,
        first_use: Callable[[str], bool],
    ) -> VerifiedIdentity:
        """Check the callback against the pending sign-in, redeem the code, verify the ID token.

        `first_use(state)` marks the attempt used and says whether it was the first time (the
        store does it with a conditional write), so a replayed callback never reaches the
        provider. Every failure raises SignInRefused with its reason; nothing is returned then.
        """
        returned_state = callback.get("state", "")
        if not hmac.compare_digest(returned_state.encode(), pending.state.encode()):
            raise SignInRefused(SignInFailure.TAMPERED_STATE, "state differs from this attempt's")
        if not first_use(pending.state):
            raise SignInRefused(SignInFailure.REPLAYED_CODE, "this sign-in was completed already")
        if "error" in callback:
            raise SignInRefused(
                SignInFailure.PROVIDER_REFUSED,
                f"{callback['error']}: {callback.get('error_description', '')}",
            )
        returned_issuer = callback.get("iss")
        if returned_issuer is not None and returned_issuer != self.config.issuer:
            # RFC 9207: the answer names the provider that sent it (mix-up defence).
            raise SignInRefused(SignInFailure.WRONG_ISSUER, f"callback from {returned_issuer!r}")
        code = callback.get("code", "")
        if not code:
            raise SignInRefused(SignInFailure.PROVIDER_REFUSED, "no code in the callback")
        tokens = self.redeem(code, pending.code_verifier, pending.redirect_uri)
        return self.verify(tokens, nonce=pending.nonce)

    def redeem(self, code: str, code_verifier: str, redirect_uri: str) -> dict[str, Any]:
        """Exchange an authorization code at the token endpoint (client_secret_post)."""
        endpoint = self._endpoint("token_endpoint")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret.get_secret_value(),
        }
        status, body = self._transport("POST", endpoint, form, self.config.timeout_seconds)
        answer = json_object(status, body, endpoint)
        if status != 200:
            error = str(answer.get("error", f"HTTP {status}"))
            reason = (
                SignInFailure.CODE_REJECTED
                if error == "invalid_grant"
                else SignInFailure.PROVIDER_REFUSED
            )
            raise SignInRefused(reason, f"{error}: {answer.get('error_description', '')}")
        if not isinstance(answer.get("id_token"), str):
            raise SignInRefused(SignInFailure.MALFORMED, "no ID token in the answer")
        return answer

    def verify(self, tokens: Mapping[str, Any], *, nonce: str) -> VerifiedIdentity:
        """Verify the token endpoint's ID token for this attempt's nonce, at the clock's now."""
        id_token = str(tokens.get("id_token", ""))
        claims = verify_id_token(
            id_token,
            keys=self.keys,
            issuer=self.config.issuer,
            client_id=self.config.client_id,
            nonce=nonce,
            now=self._clock(),
            leeway_seconds=self.config.leeway_seconds,
            max_age_seconds=self.config.max_token_age_seconds,
        )
        return identity_from_claims(claims, id_token=id_token, roles_claim=self.config.roles_claim)

    def logout_url(self, identity: VerifiedIdentity, post_logout_redirect_uri: str) -> str | None:
        """Return the provider's RP-initiated logout URL, or None where it offers none."""
        endpoint = self.discovery().get("end_session_endpoint")
        if not isinstance(endpoint, str):
            return None
        query = {
            "client_id": self.config.client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri,
        }
        if identity.id_token:
            query["id_token_hint"] = identity.id_token
        separator = "&" if urlsplit(endpoint).query else "?"
        return f"{check_url(endpoint, 'end_session_endpoint')}{separator}{urlencode(query)}"

    def _endpoint(self, name: str) -> str:
        value = self.discovery().get(name)
        if not isinstance(value, str):
            raise SignInRefused(SignInFailure.PROVIDER_UNREACHABLE, f"discovery has no {name}")
        return check_url(value, name)

    def _fetch_discovery(self) -> dict[str, Any]:
        url = self.config.issuer.rstrip("/") + DISCOVERY_PATH
        status, body = self._transport("GET", url, None, self.config.timeout_seconds)
        document = json_object(status, body, url)
        if status != 200:
            raise SignInRefused(SignInFailure.PROVIDER_UNREACHABLE, f"{url}: HTTP {status}")
        if document.get("issuer") != self.config.issuer:
            # OpenID Connect Discovery §4.3: the document must name the issuer we asked.
            raise SignInRefused(
                SignInFailure.WRONG_ISSUER, f"discovery names {document.get('issuer')!r}"
            )
        return document

    def _fetch_key_set(self) -> dict[str, Any]:
        url = self._endpoint("jwks_uri")
        status, body = self._transport("GET", url, None, self.config.timeout_seconds)
        key_set = json_object(status, body, url)
        if status != 200:
            raise SignInRefused(SignInFailure.PROVIDER_UNREACHABLE, f"{url}: HTTP {status}")
        return key_set
