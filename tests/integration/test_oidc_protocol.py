"""Sésame's OpenID Connect client against the real provider (panva's oidc-provider, local).

Each flow is driven over HTTP like a browser would, without one: the authorization URL, the
provider's login form (address and password `demo`), its consent, the redirect to the callback.
Every refusal names its reason, which the sign-in page will translate.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.domain.identity import SignInFailure
from local_stack.oidc_accounts import LOCAL_TENANT, SECURITY_OFFICER_ROLE, DemoAccount
from tests.peers.oidc_provider import (
    CALLBACK,
    MARIE,
    OTHER_APP,
    ProviderPeer,
    follow_to_callback,
    once,
    refused,
    signed_in,
    tokens_for,
)

pytestmark = pytest.mark.integration


class MovableClock:
    """A clock the test moves; the client reads it for every check."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


# --- a whole sign-in ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "roles"),
    [
        (MARIE, ()),
        ("securite.demo@mcn.gouv.qc.ca", (SECURITY_OFFICER_ROLE,)),
        ("rssi.demo@mcn.gouv.qc.ca", (SECURITY_OFFICER_ROLE,)),
        ("communications.demo@mcn.gouv.qc.ca", ("Sesame.Communications",)),
    ],
)
def test_a_code_flow_gives_the_verified_person_with_their_roles(
    oidc_provider: ProviderPeer, email: str, roles: tuple[str, ...]
) -> None:
    # Given Sésame's client, when a demo person signs in at the provider with password `demo`
    client = oidc_provider.client()
    pending = client.begin()
    _, callback = signed_in(pending.authorization_url, email)
    identity = client.complete(pending, callback, first_use=once())
    # Then Sésame knows them by issuer and a stable subject, with the claims of the ID token
    assert identity.issuer == oidc_provider.issuer
    assert identity.subject == DemoAccount(email, "").object_id
    assert identity.tenant == LOCAL_TENANT
    assert identity.email == email
    assert identity.name
    assert identity.roles == roles
    assert identity.method == "oidc:pwd"
    assert identity.auth_time is not None
    assert abs(identity.auth_time - datetime.now(UTC)) < timedelta(minutes=1)


def test_the_authorization_request_carries_pkce_s256_state_and_nonce(
    oidc_provider: ProviderPeer,
) -> None:
    client = oidc_provider.client()
    first, second = client.begin(), client.begin()
    query = dict(parse_qsl(urlsplit(first.authorization_url).query))
    assert query["code_challenge_method"] == "S256"
    assert query["state"] == first.state and query["nonce"] == first.nonce
    assert first.code_verifier not in first.authorization_url
    # Fresh values per attempt: nothing is reused between two sign-ins.
    assert {first.state, first.nonce, first.code_verifier}.isdisjoint(
        {second.state, second.nonce, second.code_verifier}
    )


def test_a_wrong_password_is_refused_on_the_providers_login_page(
    oidc_provider: ProviderPeer,
) -> None:
    pending = oidc_provider.client().begin()
    with pytest.raises(AssertionError, match="refused the address or password"):
        signed_in(pending.authorization_url, MARIE, password="not-demo")
    with pytest.raises(AssertionError, match="refused the address or password"):
        signed_in(pending.authorization_url, "inconnu@mcn.gouv.qc.ca")


def test_a_login_step_that_is_unknown_or_expired_gets_a_clear_page(
    oidc_provider: ProviderPeer,
) -> None:
    page = requests.get(f"{oidc_provider.issuer}/interaction/not-a-step", timeout=10)
    assert page.status_code == 400
    assert "Expired or unknown step" in page.text


def test_a_person_signed_in_at_the_provider_signs_in_again_without_a_password(
    oidc_provider: ProviderPeer,
) -> None:
    client = oidc_provider.client()
    first = client.begin()
    browser, callback = signed_in(first.authorization_url, MARIE)
    client.complete(first, callback, first_use=once())
    # The same browser, a new sign-in: the provider answers at once (no login page to fill).
    second = client.begin()
    again = follow_to_callback(browser, second.authorization_url, CALLBACK, login=None)
    assert client.complete(second, again, first_use=once()).email == MARIE


def test_the_discovery_document_is_fetched_once(oidc_provider: ProviderPeer) -> None:
    calls: list[str] = []
    client = oidc_provider.client()
    real = client._transport

    def counting(method: str, url: str, form: Any, timeout: float) -> tuple[int, bytes]:
        calls.append(url)
        return real(method, url, form, timeout)

    client._transport = counting
    client.begin()
    client.begin()
    assert [url for url in calls if url.endswith("openid-configuration")] == [
        oidc_provider.issuer + "/.well-known/openid-configuration"
    ]


# --- what the provider refuses -----------------------------------------------------------


def test_an_authorization_request_without_pkce_is_refused(oidc_provider: ProviderPeer) -> None:
    client = oidc_provider.client()
    pending = client.begin()
    query = dict(parse_qsl(urlsplit(pending.authorization_url).query))
    del query["code_challenge"], query["code_challenge_method"]
    no_pkce = pending.authorization_url.split("?")[0] + "?" + urlencode(query)
    _, callback = signed_in(no_pkce, MARIE)
    assert "code" not in callback
    refusal = refused(lambda: client.complete(pending, callback, first_use=once()))
    assert refusal.reason is SignInFailure.PROVIDER_REFUSED
    assert "invalid_request" in refusal.detail and "PKCE" in refusal.detail


def test_a_wrong_code_verifier_is_an_invalid_grant(oidc_provider: ProviderPeer) -> None:
    client = oidc_provider.client()
    pending = client.begin()
    _, callback = signed_in(pending.authorization_url, MARIE)
    other_verifier = client.begin().code_verifier
    wrong = pending.model_copy(update={"code_verifier": other_verifier})
    refusal = refused(lambda: client.complete(wrong, callback, first_use=once()))
    assert refusal.reason is SignInFailure.CODE_REJECTED
    assert refusal.detail.startswith("invalid_grant")


# --- what Sésame's client refuses --------------------------------------------------------


def test_a_tampered_state_is_refused_before_the_code_is_spent(oidc_provider: ProviderPeer) -> None:
    client = oidc_provider.client()
    pending = client.begin()
    _, callback = signed_in(pending.authorization_url, MARIE)
    guard = once()
    # The last character always changes: appending a fixed letter would tamper nothing
    # when the state already ends with it (one run in 64).
    last = "B" if callback["state"].endswith("A") else "A"
    tampered = {**callback, "state": callback["state"][:-1] + last}
    refusal = refused(lambda: client.complete(pending, tampered, first_use=guard))
    assert refusal.reason is SignInFailure.TAMPERED_STATE
    # Another attempt's state is refused as well: a callback belongs to one browser's attempt.
    elsewhere = client.begin()
    refusal = refused(lambda: client.complete(elsewhere, callback, first_use=guard))
    assert refusal.reason is SignInFailure.TAMPERED_STATE
    # Nothing was spent: the genuine callback still signs in.
    assert client.complete(pending, callback, first_use=guard).email == MARIE


def test_a_replayed_code_is_refused_by_sesame_and_by_the_provider(
    oidc_provider: ProviderPeer,
) -> None:
    client = oidc_provider.client()
    pending = client.begin()
    _, callback = signed_in(pending.authorization_url, MARIE)
    guard = once()
    client.complete(pending, callback, first_use=guard)
    # Sésame's one-time attempt refuses the second callback without asking the provider ...
    refusal = refused(lambda: client.complete(pending, callback, first_use=guard))
    assert refusal.reason is SignInFailure.REPLAYED_CODE
    # ... and the provider itself refuses a code redeemed once already.
    refusal = refused(lambda: client.complete(pending, callback, first_use=once()))
    assert refusal.reason is SignInFailure.CODE_REJECTED


def test_an_id_token_of_another_attempt_has_the_wrong_nonce(oidc_provider: ProviderPeer) -> None:
    client = oidc_provider.client()
    pending = client.begin()
    _, callback = signed_in(pending.authorization_url, MARIE)
    other_nonce = client.begin().nonce
    wrong = pending.model_copy(update={"nonce": other_nonce})
    refusal = refused(lambda: client.complete(wrong, callback, first_use=once()))
    assert refusal.reason is SignInFailure.WRONG_NONCE


def test_an_id_token_is_refused_once_expired(oidc_provider: ProviderPeer) -> None:
    clock = MovableClock()
    client = oidc_provider.client(clock=clock, leeway_seconds=0)
    pending, tokens = tokens_for(client)
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    clock.now = expires - timedelta(seconds=1)
    assert client.verify(tokens, nonce=pending.nonce).email == MARIE
    clock.now = expires
    refusal = refused(lambda: client.verify(tokens, nonce=pending.nonce))
    assert refusal.reason is SignInFailure.EXPIRED
    # A token dated in the future (a provider clock far ahead) is refused as well.
    clock.now = datetime.fromtimestamp(claims["iat"], UTC) - timedelta(seconds=1)
    refusal = refused(lambda: client.verify(tokens, nonce=pending.nonce))
    assert refusal.reason is SignInFailure.NOT_YET_VALID


def test_an_id_token_issued_for_another_client_is_the_wrong_audience(
    oidc_provider: ProviderPeer,
) -> None:
    other = oidc_provider.client(OTHER_APP)
    pending, tokens = tokens_for(other)
    assert other.verify(tokens, nonce=pending.nonce).email == MARIE  # valid for its own client
    refusal = refused(lambda: oidc_provider.client().verify(tokens, nonce=pending.nonce))
    assert refusal.reason is SignInFailure.WRONG_AUDIENCE


def _resigned(id_token: str, key: Any, **header: Any) -> str:
    claims = jwt.decode(id_token, options={"verify_signature": False})
    return jwt.encode(claims, key, algorithm="RS256", headers=header)


def test_an_id_token_signed_by_another_key_is_refused(oidc_provider: ProviderPeer) -> None:
    client = oidc_provider.client()
    pending, tokens = tokens_for(client)
    kid = jwt.get_unverified_header(tokens["id_token"])["kid"]
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = _resigned(tokens["id_token"], stranger, kid=kid)
    refusal = refused(lambda: client.verify({"id_token": forged}, nonce=pending.nonce))
    assert refusal.reason is SignInFailure.BAD_SIGNATURE
    # The same claims with the same kid, altered after signing: the signature no longer holds.
    head, body, signature = tokens["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["email"] = "rssi.demo@mcn.gouv.qc.ca"
    altered_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    altered = f"{head}.{altered_body}.{signature}"
    refusal = refused(lambda: client.verify({"id_token": altered}, nonce=pending.nonce))
    assert refusal.reason is SignInFailure.BAD_SIGNATURE
    # `alg: none` and a symmetric algorithm are never accepted.
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert refused(lambda: client.verify({"id_token": unsigned}, nonce=pending.nonce)).reason is (
        SignInFailure.BAD_SIGNATURE
    )
    hmac_signed = jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"kid": kid})
    assert refused(
        lambda: client.verify({"id_token": hmac_signed}, nonce=pending.nonce)
    ).reason is (SignInFailure.BAD_SIGNATURE)
    garbage = refused(lambda: client.verify({"id_token": "not.a.token"}, nonce=pending.nonce))
    assert garbage.reason is SignInFailure.MALFORMED


def test_an_unknown_kid_refetches_the_key_set_once_then_refuses(
    oidc_provider: ProviderPeer,
) -> None:
    client = oidc_provider.client()
    pending, tokens = tokens_for(client)
    client.verify(tokens, nonce=pending.nonce)
    assert client.keys.fetches == 1
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = _resigned(tokens["id_token"], stranger, kid="a-kid-nobody-published")
    refusal = refused(lambda: client.verify({"id_token": forged}, nonce=pending.nonce))
    assert refusal.reason is SignInFailure.UNKNOWN_KEY
    assert client.keys.fetches == 2  # exactly one fresh look at the provider's keys


def test_a_discovery_document_naming_another_issuer_is_refused(
    oidc_provider: ProviderPeer,
) -> None:
    # The same server under another name: the document names its own issuer, not this one.
    port = urlsplit(oidc_provider.issuer).port
    client = oidc_provider.client(issuer=f"http://localhost:{port}")
    assert refused(client.begin).reason is SignInFailure.WRONG_ISSUER


def test_rp_initiated_logout_ends_the_providers_session(oidc_provider: ProviderPeer) -> None:
    client = oidc_provider.client()
    pending = client.begin()
    browser, callback = signed_in(pending.authorization_url, MARIE)
    identity = client.complete(pending, callback, first_use=once())
    url = client.logout_url(identity, "http://127.0.0.1:9/login")
    assert url is not None and url.startswith(oidc_provider.issuer + "/session/end?")
    page = browser.get(url, timeout=10)
    form = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    end = browser.post(
        oidc_provider.issuer + "/session/end/confirm",
        data={**form, "logout": "yes"},
        allow_redirects=False,
        timeout=10,
    )
    assert end.is_redirect and end.headers["Location"].startswith("http://127.0.0.1:9/login")
    # Signed out at the provider: the next sign-in in this browser asks for the password again.
    after = client.begin()
    with pytest.raises(AssertionError, match="stuck at"):
        follow_to_callback(browser, after.authorization_url, CALLBACK, login=None)
