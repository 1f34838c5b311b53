"""Acceptance 1 of issue 16 through the real app: the grant opens Squid, the revocation closes it.

The browser stage's local stack serves the real `GET /api/v1/grants`; a real Squid (Debian's,
on loopback, basic authentication, a hosts file pointing the platforms at a local origin) runs
Sésame's helper against it with a credential made as `make api-credential` makes one. The
person files and confirms in Chromium, the manager approves from the e-mail, the officer
approves and then revokes in the console.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OFFICERS, OpenPage, new_person, wait_for_mail
from tests.browser.test_approval_journey import link_of, submit_french_request
from tests.browser.test_console_journey import sign_in
from tests.peers import squid as squid_peer
from tests.peers.grants_feed import OriginServer
from tests.peers.squid import SquidProxy, wait_for

pytestmark = pytest.mark.browser
OFFICER = OFFICERS[0]
PLATFORM = "www.linkedin.com"


@pytest.fixture
def origin() -> Iterator[OriginServer]:
    """The platforms' origin server on loopback (200 "origin")."""
    server = OriginServer()
    yield server
    server.stop()


def proxy_for(base_url: str, origin: OriginServer, person: str) -> SquidProxy:
    """A Squid whose helper reads the app's own grants API, `person` among its users."""
    from chalicelib.service.context import get_services
    from chalicelib.service.grants_api import client_store, create_client

    services = get_services()
    made, secret = create_client(services, client_store(services), "squid e2e", "operator:test")
    squid_peer.USERS.append(person)  # Squid's password file lists the tests' people
    options = ["--client-id", made.client_id, "--client-secret", secret, "--refresh", "2"]
    proxy = SquidProxy(f"{base_url}/api/v1/grants", origin.port, options)
    proxy.start()
    return proxy


def test_the_grant_opens_squid_within_a_minute_and_the_revocation_closes_it(
    page: Any, open_page: OpenPage, base_url: str, origin: OriginServer
) -> None:
    person = new_person("Gabrielle", "Roy")
    proxy = proxy_for(base_url, origin, person.email)
    try:
        assert proxy.status(person.email, PLATFORM) == 403  # no grant yet

        confirmation = submit_french_request(page, base_url, person)
        reference = page.locator("main strong").first.inner_text().strip()
        page.goto(link_of(confirmation, "confirm"))
        page.get_by_role("button", name="Confirmer ma demande").click()
        manager = open_page()
        manager_mail = wait_for_mail(base_url, to=person.manager_email, kind="decide")
        manager.goto(link_of(manager_mail, "decide"))
        manager.get_by_role("button", name="Approuver").click()
        expect(manager.get_by_role("heading", level=1)).to_have_text("Décision enregistrée")

        officer = open_page()
        sign_in(officer, base_url, OFFICER)
        officer.goto("/console")
        officer.get_by_role("link", name=reference).click()
        officer.get_by_label("Commentaire").fill("Conforme.")
        officer.get_by_role("button", name="Approuver").click()
        expect(officer.locator("p.status strong")).to_have_text("Approuvée")
        opened = wait_for(lambda: proxy.status(person.email, PLATFORM) == 200, 60.0, 0.25)

        officer.get_by_label("Motif de la révocation").fill("Fin du mandat.")
        officer.get_by_role("button", name="Révoquer l'accès maintenant").click()
        expect(officer.locator("p.status strong")).to_have_text("Accès révoqué")
        closed = wait_for(lambda: proxy.status(person.email, PLATFORM) == 403, 60.0, 0.25)
        print(f"grant -> 200 in {opened:.1f} s; revocation -> 403 in {closed:.1f} s")
    finally:
        proxy.stop()
        squid_peer.USERS.remove(person.email)
