"""Sign in with the organisation's OpenID Provider: start, complete, sign out (issue 15).

The views stay a few lines: `start_provider_signin` gives the cookie to set and the URL to
redirect to; `complete_provider_signin` takes that cookie and the callback's parameters and
gives the same SignedIn as an e-mail link (the same server-side session, with the verified
person on it); `provider_sign_out` ends the session and gives the provider's logout URL.
Every refusal is audited as "signin_refused" with its reason, and stores no session.
"""

from __future__ import annotations

import base64
import contextlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from .. import aws
from ..domain.errors import DomainError, LimitReached, NotFound
from ..domain.identity import (
    SignInFailure,
    SignInRefused,
    VerifiedIdentity,
    VerifiedPerson,
    verified_person,
)
from ..domain.identity_policy import SignInSettings
from ..domain.models import ClientInfo, Lang
from ..domain.next_path import safe_next_path
from ..domain.sessions import Session
from ..settings import LOCAL_STAGES
from ..store.provider_signins import ProviderSignInStore
from .audit import new_event
from .context import Services
from .directory_lookup import sign_in_roles
from .links import new_token, token_hash, well_formed
from .signin import SignedIn, new_session, replaced, sign_out

if TYPE_CHECKING:
    from ..adapters.oidc_client import OidcClient

CALLBACK_PATH = "/login/oidc/callback"
AFTER_LOGOUT_PATH = "/login"
# A sign-in at the provider takes a minute; past this the attempt is refused (like a link).
ATTEMPT_LIFETIME = timedelta(minutes=15)
# The attempt cookie is `<32 random bytes>~<the path to come back to, base64url>`.
NEXT_SEPARATOR = "~"
# Local and test stages only: the demo client's secret (deployed stages read SSM).
LOCAL_SECRET_VARIABLE = "SESAME_OIDC_CLIENT_SECRET"  # noqa: S105  # nosec B105  (a name)

_clients: dict[int, tuple[Services, OidcClient]] = {}
_lock = threading.Lock()


def provider_settings(services: Services) -> SignInSettings | None:
    """Return the provider that serves this stage, or None (e-mail links only)."""
    return services.policy.identity.sign_in_for(services.settings.stage)


def _client_secret(services: Services, settings: SignInSettings) -> str:
    local = os.environ.get(LOCAL_SECRET_VARIABLE)
    if services.settings.stage in LOCAL_STAGES and local:
        return local
    # A SecureString read once per process (the client is cached with it).
    response = aws.ssm().get_parameter(Name=settings.client_secret_parameter, WithDecryption=True)
    return response["Parameter"]["Value"]


def provider_client(services: Services) -> OidcClient:
    """Return this process's client of the provider (discovery and keys cached in it)."""
    settings = provider_settings(services)
    if settings is None:
        raise NotFound("sign-in provider")
    with _lock:
        cached = _clients.get(id(services))
        if cached is not None and cached[0] is services:
            return cached[1]
        # Imported here: the client pulls in the token checks (PyJWT), never on GET /.
        from pydantic import SecretStr

        from ..adapters.oidc_client import OidcClient, OidcClientConfig

        config = OidcClientConfig(
            issuer=settings.issuer,
            client_id=settings.client_id,
            client_secret=SecretStr(_client_secret(services, settings)),
            redirect_uri=services.settings.public_base_url + CALLBACK_PATH,
            roles_claim=settings.roles_claim,
        )
        # Read through the services at each call: a test (or /dev/clock) may move it.
        client = OidcClient(config, clock=lambda: services.clock())  # noqa: PLW0108
        _clients[id(services)] = (services, client)
        return client


@dataclass(frozen=True)
class ProviderSignInStarted:
    """Where to send the browser, and the attempt cookie to set first (only its hash stored)."""

    attempt_cookie: str
    authorization_url: str


def start_provider_signin(services: Services, next_path: str, lang: Lang) -> ProviderSignInStarted:
    """Prepare a sign-in at the provider: a pending attempt stored server-side, for 15 minutes.

    Raises SignInRefused (provider_unreachable) when the provider's discovery cannot be read;
    nothing is stored then.
    """
    pending = provider_client(services).begin()
    secret = new_token()
    now = services.clock()
    # The path to come back to stays in the browser's cookie, never in the table: it may be a
    # decision link (/decide/<token>), and no usable token is kept at rest.
    store = _store(services)
    store.add_attempt(token_hash(secret), pending, lang, now + ATTEMPT_LIFETIME)
    back = base64.urlsafe_b64encode(safe_next_path(next_path).encode()).decode().rstrip("=")
    return ProviderSignInStarted(f"{secret}{NEXT_SEPARATOR}{back}", pending.authorization_url)


def _split_cookie(attempt_cookie: str | None) -> tuple[str, str]:
    """Return the attempt's secret and the path to come back to (checked again) from a cookie."""
    secret, _, back = (attempt_cookie or "").partition(NEXT_SEPARATOR)
    if not secret or not well_formed(secret):
        raise SignInRefused(SignInFailure.TAMPERED_STATE, "no sign-in attempt in this browser")
    try:
        path = base64.urlsafe_b64decode(back + "=" * (-len(back) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        path = ""
    return secret, safe_next_path(path)


def _store(services: Services) -> ProviderSignInStore:
    return ProviderSignInStore(aws.dynamodb(), services.settings.main_table, services.store.audit)


def _person(
    services: Services, attempt_cookie: str | None, callback: Mapping[str, str]
) -> tuple[VerifiedPerson, str]:
    """Check the callback against this browser's attempt; return the person and where to go."""
    secret, next_path = _split_cookie(attempt_cookie)
    attempt_hash = token_hash(secret)
    store = _store(services)
    attempt = store.load_attempt(attempt_hash)
    if attempt is None:
        raise SignInRefused(SignInFailure.TAMPERED_STATE, "unknown sign-in attempt")
    if services.clock() > attempt.pending.created_at + ATTEMPT_LIFETIME:
        raise SignInRefused(SignInFailure.EXPIRED, "the sign-in attempt is past 15 minutes")
    client = provider_client(services)
    identity: VerifiedIdentity = client.complete(
        attempt.pending,
        callback,
        first_use=lambda _state: store.use_attempt(attempt_hash, services.clock()),
    )
    identity_policy = services.policy.identity
    roles = identity_policy.roles_from_provider(services.settings.stage, identity.roles)
    person = verified_person(identity, roles)
    if not services.policy.email_domain_allowed(person.email):
        raise SignInRefused(
            SignInFailure.DOMAIN_NOT_ALLOWED,
            f"{person.email} (subject {person.subject}) is outside the allowed domains",
        )
    return person, next_path


def complete_provider_signin(
    services: Services,
    attempt_cookie: str | None,
    callback: Mapping[str, str],
    previous_cookie: str | None,
    client: ClientInfo,
) -> SignedIn:
    """Finish a sign-in from the provider's callback: verify, then open the usual session.

    Raises SignInRefused with the reason (audited, no session stored), LimitReached when the
    source made too many refused sign-ins this hour (then not even audited again).
    """
    try:
        person, next_path = _person(services, attempt_cookie, callback)
    except SignInRefused as refusal:
        _audit_refusal(services, refusal, client)
        raise
    now = services.clock()
    # The token's roles and the directory's groups, resolved once for every page after.
    roles = sign_in_roles(services, person.email, person.roles)
    cookie_value, session = new_session(person.email, now, roles, person)
    event = new_event(
        services,
        "signed_in",
        person.email,
        "console",
        at=now,
        client=client,
        reason=f"provider {person.method}",
    ).model_copy(update={"identity": person})
    _store(services).open_session(session, event, replaced(previous_cookie))
    return SignedIn(cookie_value=cookie_value, session=session, next_path=next_path)


def _audit_refusal(services: Services, refusal: SignInRefused, client: ClientInfo) -> None:
    """Audit a refused sign-in, at most the policy's number per source and hour."""
    limit = services.policy.rules.limits.max_refused_attempts_per_hour
    now = services.clock()
    counters = services.store.limits
    try:
        count = counters.count(("refused", client.source_ip), limit, now)
    except DomainError:
        return  # not counted, not audited: the refusal itself stands
    if count is None:  # past the limit: no write at all (a script cannot fill the chain)
        raise LimitReached("refused") from refusal
    event = new_event(
        services,
        "signin_refused",
        "unknown",
        "console",
        at=now,
        client=client,
        reason=(
            refusal.reason.value
            if count <= limit
            else f"{refusal.reason.value}; refused_attempts_limit:{limit}"
        ),
        comment=refusal.detail or None,
    )
    # The refusal stands even if its record fails (as for other refused attempts).
    with contextlib.suppress(DomainError):
        services.store.audit.append(event)


def provider_sign_out(services: Services, session: Session, client: ClientInfo) -> str | None:
    """End a session; return the provider's logout URL when it was a provider's sign-in."""
    sign_out(services, session, client)
    person = session.identity
    if person is None or provider_settings(services) is None:
        return None
    try:
        return provider_client(services).logout_url(
            VerifiedIdentity(issuer=person.issuer, subject=person.subject),
            services.settings.public_base_url + AFTER_LOGOUT_PATH,
        )
    except SignInRefused:
        return None  # signed out of Sésame; the provider cannot be reached to end its own
