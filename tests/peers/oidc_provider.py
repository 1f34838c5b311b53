"""The real local OpenID Provider for the tests: started once per session on 127.0.0.1.

Loaded as a pytest plugin from tests/conftest.py. `oidc_provider` is the shared provider (two
registered clients: Sésame's and another application's); `signed_in` drives a whole code
flow over HTTP like a browser would, without one (login form, consent, redirect).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import requests
from pydantic import SecretStr

from chalicelib.adapters.oidc_client import OidcClient, OidcClientConfig
from chalicelib.domain.identity import PendingSignIn, SignInRefused
from local_stack.oidc_accounts import ClientRegistration, DemoAccount, demo_accounts
from local_stack.oidc_process import RunningProvider, start_provider

CALLBACK = "http://127.0.0.1:9/login/oidc/callback"  # never fetched: the flow stops at it
SESAME = ClientRegistration(
    client_id="sesame-test",
    client_secret="sesame-test-secret-" + "s" * 24,
    redirect_uris=(CALLBACK,),
    post_logout_redirect_uris=("http://127.0.0.1:9/login",),
)
OTHER_APP = ClientRegistration(
    client_id="other-app",
    client_secret="other-app-secret-" + "o" * 24,
    redirect_uris=("http://127.0.0.1:9/other/callback",),
)
TEST_CLIENTS = (SESAME, OTHER_APP)
MAX_REDIRECTS = 10
MARIE = "marie.tremblay@mcn.gouv.qc.ca"
# An account the provider vouches for whose address is outside the policy's allowed domains
# (a guest, or a provider misconfigured): Sésame must refuse to sign it in.
OUTSIDER = DemoAccount(email="invite.externe@exemple.com", name="Invité externe")


@dataclass
class ProviderPeer:
    """The running provider and how to build a relying-party client for one of its clients."""

    running: RunningProvider

    @property
    def issuer(self) -> str:
        return self.running.issuer

    def client(
        self,
        registration: ClientRegistration = SESAME,
        *,
        clock: Callable[[], datetime] | None = None,
        **config: Any,
    ) -> OidcClient:
        """Return Sésame's relying-party client for a registration at this provider."""
        settings = OidcClientConfig(
            issuer=config.pop("issuer", self.issuer),
            client_id=config.pop("client_id", registration.client_id),
            client_secret=SecretStr(config.pop("client_secret", registration.client_secret)),
            redirect_uri=config.pop("redirect_uri", registration.redirect_uris[0]),
            **config,
        )
        return OidcClient(settings) if clock is None else OidcClient(settings, clock=clock)


def start_peer(state_dir: Path, port: int = 0) -> RunningProvider:
    """Start a provider with the test clients; fail (never skip) when it cannot start."""
    accounts = (*demo_accounts(), OUTSIDER)
    running = start_provider(state_dir, port=port, clients=TEST_CLIENTS, accounts=accounts)
    if running is None:
        pytest.fail("the local OpenID Provider could not start (Node.js or npm ci missing)")
    return running


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProviderPeer]:
    """The real OpenID Provider, once per test session, stopped at the end."""
    running = start_peer(tmp_path_factory.mktemp("oidc-provider"))
    try:
        yield ProviderPeer(running)
    finally:
        running.stop()


def follow_to_callback(
    browser: requests.Session, url: str, redirect_uri: str, login: tuple[str, str] | None
) -> dict[str, str]:
    """Follow the provider's pages from `url` until it redirects to `redirect_uri`.

    On the login page, post `login` (address, password); return the callback's parameters.
    """
    response = browser.get(url, allow_redirects=False, timeout=10)
    for _ in range(MAX_REDIRECTS):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(redirect_uri):
                return dict(parse_qsl(urlsplit(location).query))
            response = browser.get(location, allow_redirects=False, timeout=10)
            continue
        form = re.search(r'<form method="post" action="([^"]+)"', response.text)
        if form is None or login is None:
            raise AssertionError(f"stuck at {response.url} ({response.status_code})")
        response = browser.post(
            urljoin(response.url, form.group(1)),
            data={"login": login[0], "password": login[1]},
            allow_redirects=False,
            timeout=10,
        )
        if response.status_code == 401:
            raise AssertionError("the provider refused the address or password")
        login = None  # one login page per flow: a second one means the first was refused
    raise AssertionError("too many redirects")


def signed_in(
    url: str,
    email: str,
    *,
    password: str = "demo",  # noqa: S107  (every demo account's published password)
    redirect_uri: str = CALLBACK,
) -> tuple[requests.Session, dict[str, str]]:
    """Sign in at the provider in a fresh browser-like session; return it and the callback."""
    browser = requests.Session()
    return browser, follow_to_callback(browser, url, redirect_uri, (email, password))


def once() -> Callable[[str], bool]:
    """A one-time guard like the store's conditional write: True the first time per state."""
    seen: set[str] = set()

    def first_use(state: str) -> bool:
        if state in seen:
            return False
        seen.add(state)
        return True

    return first_use


def refused(action: Callable[[], object]) -> SignInRefused:
    """Run an action that must be refused, and return the refusal."""
    with pytest.raises(SignInRefused) as caught:
        action()
    return caught.value


def tokens_for(client: OidcClient, email: str = MARIE) -> tuple[PendingSignIn, dict[str, Any]]:
    """Sign in at the provider and redeem the code: the token endpoint's answer, unverified."""
    pending = client.begin()
    _, callback = signed_in(pending.authorization_url, email, redirect_uri=pending.redirect_uri)
    return pending, client.redeem(callback["code"], pending.code_verifier, pending.redirect_uri)
