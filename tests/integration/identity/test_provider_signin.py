"""Signing in with the organisation's provider, at the service level, against the real provider.

Each flow is the one a browser makes: Sésame's start gives a cookie and the provider's URL,
the person signs in there with the password `demo`, the callback comes back with that cookie.
A success opens the same session as an e-mail link, with the verified person on it; every
refusal is audited with its reason and stores no session.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import boto3
import jwt
import pytest

from chalicelib.domain.errors import NotFound
from chalicelib.domain.identity import SignInFailure, SignInRefused
from chalicelib.domain.models import AuditEvent, ClientInfo
from chalicelib.service.context import Services, get_services
from chalicelib.service.links import token_hash
from chalicelib.service.provider_signin import (
    complete_provider_signin,
    provider_client,
    provider_sign_out,
    start_provider_signin,
)
from chalicelib.service.signin import current_session
from chalicelib.store import keys
from local_stack.oidc_accounts import LOCAL_TENANT, DemoAccount, signing_keys
from tests.integration.conftest import MAIN
from tests.integration.identity.conftest import audit_bodies, sessions_stored, with_provider
from tests.peers.oidc_provider import MARIE, OTHER_APP, ProviderPeer, signed_in, start_peer

pytestmark = pytest.mark.integration
CLIENT = ClientInfo(source_ip="192.0.2.7", user_agent="pytest")
OFFICER = "securite.demo@mcn.gouv.qc.ca"


def at_provider(
    services: Services, email: str = MARIE, next_path: str = "/me"
) -> tuple[str, dict[str, str], str]:
    """Start a sign-in and sign in at the provider; return the cookie, the callback and URL."""
    started = start_provider_signin(services, next_path, "fr")
    _, callback = signed_in(started.authorization_url, email)
    return started.attempt_cookie, callback, started.authorization_url


def refusal(services: Services, cookie: str | None, callback: dict[str, str]) -> SignInRefused:
    with pytest.raises(SignInRefused) as caught:
        complete_provider_signin(services, cookie, callback, None, CLIENT)
    return caught.value


def refused_events() -> list[AuditEvent]:
    return [AuditEvent.model_validate_json(body) for body in audit_bodies("signin_refused")]


def assert_refused_and_nothing_stored(reason: SignInFailure) -> None:
    assert sessions_stored() == 0
    events = refused_events()
    assert [e.reason for e in events] == [reason.value]
    assert events[0].source_ip == CLIENT.source_ip and events[0].identity is None


def edit_attempt(cookie: str, **fields: str) -> None:
    """Change the stored attempt (what an attacker cannot do; it proves the check is made)."""
    dynamodb = boto3.client("dynamodb")
    key = keys.provider_signin_key(token_hash(cookie.split("~", maxsplit=1)[0]))
    item = dynamodb.get_item(TableName=MAIN, Key=key)["Item"]
    body = {**json.loads(item["body"]["S"]), **fields}
    item["body"] = {"S": json.dumps(body)}
    dynamodb.put_item(TableName=MAIN, Item=item)


# --- a whole sign-in ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "roles"),
    [(MARIE, ()), (OFFICER, ("security",)), ("communications.demo@mcn.gouv.qc.ca",
                                             ("communications",))],
)  # fmt: skip
def test_a_provider_sign_in_opens_the_usual_session_with_the_verified_person(
    signin_services: Services, oidc_provider: ProviderPeer, email: str, roles: tuple[str, ...]
) -> None:
    cookie, callback, url = at_provider(signin_services, email)
    # The authorization request carries PKCE S256, a state and a nonce; the verifier stays here.
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["code_challenge_method"] == "S256" and query["state"] and query["nonce"]
    done = complete_provider_signin(signin_services, cookie, callback, None, CLIENT)
    assert done.next_path == "/me"
    # The same session as an e-mail link's: the cookie opens it, with who the provider vouched for.
    session = current_session(signin_services, done.cookie_value)
    assert session is not None and session.email == email
    person = session.identity
    assert person is not None
    assert (person.issuer, person.subject) == (
        oidc_provider.issuer,
        DemoAccount(email, "").object_id,
    )
    assert person.tenant == LOCAL_TENANT and person.roles == roles
    assert person.method == "oidc:pwd" and person.auth_time is not None
    # The audit event names the issuer and subject, not only the address.
    [body] = audit_bodies("signed_in")
    event = AuditEvent.model_validate_json(body)
    assert event.actor == email and event.identity == person
    assert sessions_stored() == 1


def test_the_path_to_come_back_to_stays_in_the_browser_not_in_the_table(
    signin_services: Services,
) -> None:
    # Jean pressed Approve on his link: he comes back to it, but its token is never stored.
    decide_path = "/decide/" + "t" * 43
    started = start_provider_signin(signin_services, decide_path, "fr")
    items = boto3.client("dynamodb").scan(TableName=MAIN)["Items"]
    assert items and "t" * 43 not in json.dumps(items)
    _, callback = signed_in(started.authorization_url, MARIE)
    done = complete_provider_signin(signin_services, started.attempt_cookie, callback, None, CLIENT)
    assert done.next_path == decide_path
    # A path to another site in a forged cookie is dropped, as for an e-mail sign-in.
    cookie, callback, _ = at_provider(signin_services)
    secret = cookie.split("~")[0]
    forged = secret + "~" + base64.urlsafe_b64encode(b"//evil.example/").decode()
    assert complete_provider_signin(signin_services, forged, callback, None, CLIENT).next_path == ""


def test_a_new_sign_in_replaces_the_browsers_previous_session(signin_services: Services) -> None:
    cookie, callback, _ = at_provider(signin_services)
    first = complete_provider_signin(signin_services, cookie, callback, None, CLIENT)
    cookie, callback, _ = at_provider(signin_services)
    second = complete_provider_signin(signin_services, cookie, callback, first.cookie_value, CLIENT)
    assert first.cookie_value != second.cookie_value  # the session id is rotated
    assert current_session(signin_services, first.cookie_value) is None
    assert current_session(signin_services, second.cookie_value) is not None


def test_sign_out_ends_the_session_and_gives_the_providers_logout(
    signin_services: Services, oidc_provider: ProviderPeer
) -> None:
    cookie, callback, _ = at_provider(signin_services)
    done = complete_provider_signin(signin_services, cookie, callback, None, CLIENT)
    url = provider_sign_out(signin_services, done.session, CLIENT)
    assert url is not None and url.startswith(oidc_provider.issuer + "/session/end?")
    assert "post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Flogin" in url
    # Replaying the cookie after sign-out opens nothing.
    assert current_session(signin_services, done.cookie_value) is None
    assert sessions_stored() == 0


def test_without_a_provider_for_the_stage_there_is_nothing_to_start(provider_env: None) -> None:
    # The demo policy names the local provider for the local stage only.
    with pytest.raises(NotFound):
        start_provider_signin(get_services(), "/", "fr")


# --- what is refused (acceptance item 3) --------------------------------------------------


def test_an_authorization_request_without_pkce_is_refused(signin_services: Services) -> None:
    started = start_provider_signin(signin_services, "/", "fr")
    query = dict(parse_qsl(urlsplit(started.authorization_url).query))
    del query["code_challenge"], query["code_challenge_method"]
    _, callback = signed_in(started.authorization_url.split("?")[0] + "?" + urlencode(query), MARIE)
    error = refusal(signin_services, started.attempt_cookie, callback)
    assert error.reason is SignInFailure.PROVIDER_REFUSED and "PKCE" in error.detail
    assert_refused_and_nothing_stored(SignInFailure.PROVIDER_REFUSED)


def test_a_wrong_code_verifier_is_refused_by_the_provider(signin_services: Services) -> None:
    cookie, callback, _ = at_provider(signin_services)
    edit_attempt(cookie, code_verifier="v" * 43)
    assert refusal(signin_services, cookie, callback).reason is SignInFailure.CODE_REJECTED
    assert_refused_and_nothing_stored(SignInFailure.CODE_REJECTED)


def test_a_tampered_state_is_refused_and_the_attempt_still_works(
    signin_services: Services,
) -> None:
    cookie, callback, _ = at_provider(signin_services)
    last = callback["state"][-1]
    # Another last character (the same one, 1 time in 64, would be no tampering at all).
    tampered = {**callback, "state": callback["state"][:-1] + ("B" if last == "A" else "A")}
    assert refusal(signin_services, cookie, tampered).reason is SignInFailure.TAMPERED_STATE
    assert_refused_and_nothing_stored(SignInFailure.TAMPERED_STATE)
    # A callback arriving in a browser that never started a sign-in is refused the same way.
    assert refusal(signin_services, None, callback).reason is SignInFailure.TAMPERED_STATE
    assert sessions_stored() == 0
    # The genuine callback was not spent by the forged ones.
    complete_provider_signin(signin_services, cookie, callback, None, CLIENT)
    assert sessions_stored() == 1


def test_a_replayed_callback_is_refused_without_a_second_session(
    signin_services: Services,
) -> None:
    cookie, callback, _ = at_provider(signin_services)
    complete_provider_signin(signin_services, cookie, callback, None, CLIENT)
    assert refusal(signin_services, cookie, callback).reason is SignInFailure.REPLAYED_CODE
    assert sessions_stored() == 1
    assert [e.reason for e in refused_events()] == ["replayed_code"]


def test_an_id_token_for_another_attempt_has_the_wrong_nonce(signin_services: Services) -> None:
    cookie, callback, _ = at_provider(signin_services)
    edit_attempt(cookie, nonce="n" * 43)
    assert refusal(signin_services, cookie, callback).reason is SignInFailure.WRONG_NONCE
    assert_refused_and_nothing_stored(SignInFailure.WRONG_NONCE)


def test_an_expired_id_token_is_refused(signin_services: Services) -> None:
    cookie, callback, _ = at_provider(signin_services)
    real_clock = signin_services.clock
    # The code is redeemed at once, but Sésame judges the ID token 11 minutes later (its exp
    # is 10 minutes, plus 1 minute of leeway): a token past its exp.
    signin_services.clock = lambda: real_clock() + timedelta(minutes=11, seconds=1)
    error = refusal(signin_services, cookie, callback)
    assert error.reason is SignInFailure.EXPIRED and "exp" in error.detail
    assert_refused_and_nothing_stored(SignInFailure.EXPIRED)


def test_an_attempt_older_than_15_minutes_is_refused(signin_services: Services) -> None:
    cookie, callback, _ = at_provider(signin_services)
    real_clock = signin_services.clock
    signin_services.clock = lambda: real_clock() + timedelta(minutes=15, seconds=1)
    assert refusal(signin_services, cookie, callback).reason is SignInFailure.EXPIRED
    assert_refused_and_nothing_stored(SignInFailure.EXPIRED)


def test_an_id_token_issued_to_another_client_is_the_wrong_audience(
    signin_services: Services, oidc_provider: ProviderPeer
) -> None:
    # The token endpoint's answer is swapped for a genuine ID token of another application
    # (same person, same nonce): a token substitution.
    cookie, callback, _ = at_provider(signin_services)
    nonce = json.loads(
        boto3.client("dynamodb").get_item(
            TableName=MAIN, Key=keys.provider_signin_key(token_hash(cookie.split("~")[0]))
        )["Item"]["body"]["S"]
    )["nonce"]
    other = oidc_provider.client(OTHER_APP)
    pending = other.begin().model_copy(update={"nonce": nonce})
    url = pending.authorization_url.replace(
        dict(parse_qsl(urlsplit(pending.authorization_url).query))["nonce"], nonce
    )
    _, other_callback = signed_in(url, MARIE, redirect_uri=pending.redirect_uri)
    foreign = other.redeem(other_callback["code"], pending.code_verifier, pending.redirect_uri)
    assert jwt.decode(foreign["id_token"], options={"verify_signature": False})["nonce"] == nonce
    client = provider_client(signin_services)
    real = client._transport

    def swapped(method: str, url: str, form: Any, timeout: float) -> tuple[int, bytes]:
        status, body = real(method, url, form, timeout)
        if url.endswith("/token") and status == 200:
            return status, json.dumps(
                {**json.loads(body), "id_token": foreign["id_token"]}
            ).encode()
        return status, body

    client._transport = swapped
    assert refusal(signin_services, cookie, callback).reason is SignInFailure.WRONG_AUDIENCE
    assert_refused_and_nothing_stored(SignInFailure.WRONG_AUDIENCE)


@pytest.fixture
def own_provider(tmp_path: Path, provider_env: None) -> Iterator[tuple[ProviderPeer, Services]]:
    """A provider of this test's own (restarted or stopped), and services signing in there."""
    peer = ProviderPeer(start_peer(tmp_path))
    try:
        yield peer, with_provider(get_services(), peer.issuer)
    finally:
        peer.running.stop()


def test_a_rotated_key_is_refetched_once_then_accepted(
    own_provider: tuple[ProviderPeer, Services],
) -> None:
    peer, services = own_provider
    cookie, callback, _ = at_provider(services)
    complete_provider_signin(services, cookie, callback, None, CLIENT)
    # The provider restarts with a new signing key; Sésame keeps running.
    state_dir = peer.running.state_dir
    peer.running.stop()
    signing_keys(state_dir, rotate=True)
    peer.running = start_peer(state_dir, port=peer.running.port)
    cookie, callback, _ = at_provider(services)
    complete_provider_signin(services, cookie, callback, None, CLIENT)
    assert provider_client(services).keys.fetches == 2  # the unknown kid: one fresh look
    assert sessions_stored() == 2 and refused_events() == []


def test_a_provider_that_is_down_is_refused_clearly(
    own_provider: tuple[ProviderPeer, Services],
) -> None:
    peer, services = own_provider
    cookie, callback, _ = at_provider(services)
    peer.running.stop()
    error = refusal(services, cookie, callback)
    assert error.reason is SignInFailure.PROVIDER_UNREACHABLE
    assert_refused_and_nothing_stored(SignInFailure.PROVIDER_UNREACHABLE)
