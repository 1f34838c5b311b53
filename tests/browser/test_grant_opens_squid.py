"""Acceptance 1 of issue 16 through the real app: the grant opens Squid and the directory
group, the revocation closes both.

The browser stage's local stack serves the real `GET /api/v1/grants`; a real Squid (Debian's,
on loopback, basic authentication, a hosts file pointing the platforms at a local origin) runs
Sésame's helper against it with a credential made as `make api-credential` makes one. The
session's real slapd (tests/peers/slapd.py) holds the platforms' groups; enforcement reaches it
through the `SESAME_LDAP_*` settings an operator sets, and the bus events reach enforcement
through the local stack's relay (local_stack/access_events.py), run here on a short period. The
person files and confirms in Chromium, the manager approves from the e-mail, the officer
approves and then revokes in the console.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ldap3 import BASE, Connection, Server
from playwright.sync_api import expect

from local_stack.access_events import AccessEventRelay, fingerprint
from local_stack.ldap_process import GROUPS_DN, PEOPLE_DN, ROOT_DN, SlapdProcess
from tests.browser.conftest import OFFICERS, OpenPage, Person, new_person, wait_for_mail
from tests.browser.test_approval_journey import link_of, submit_french_request
from tests.browser.test_console_journey import sign_in
from tests.peers import squid as squid_peer
from tests.peers.grants_feed import OriginServer
from tests.peers.slapd import enforcement_environment
from tests.peers.squid import SquidProxy, wait_for

pytestmark = pytest.mark.browser
OFFICER = OFFICERS[0]
PLATFORM = "www.linkedin.com"
# The groups of the platforms the French form asks for (LinkedIn and X, policies/catalogue.toml).
GROUPS = (f"cn=sesame-linkedin,{GROUPS_DN}", f"cn=sesame-x,{GROUPS_DN}")
RELAY_PERIOD_S = 0.5  # the local stack's jobs thread relays every 30 s; the test cannot wait


@pytest.fixture
def origin() -> Iterator[OriginServer]:
    """The platforms' origin server on loopback (200 "origin")."""
    server = OriginServer()
    yield server
    server.stop()


class Directory:
    """The session's slapd as its administrator sees it: people added, groups read."""

    def __init__(self, server: SlapdProcess) -> None:
        self.server = server

    def _connection(self) -> Connection:
        ldap = Server(self.server.url, connect_timeout=2)
        return Connection(ldap, ROOT_DN, self.server.root_password, auto_bind=True)

    def add_person(self, person: Person) -> str:
        """Create the person's entry (the directory knows every employee); return its DN."""
        uid = person.email.split("@")[0]
        dn = f"uid={uid},{PEOPLE_DN}"
        attributes = {"uid": uid, "cn": person.name, "sn": person.name.split()[-1]}
        with self._connection() as conn:
            conn.add(dn, ["inetOrgPerson"], {**attributes, "mail": person.email})
            assert conn.result["result"] == 0, conn.result
        return dn

    def remove(self, dn: str) -> None:
        """Delete an entry (a person added by the test)."""
        with self._connection() as conn:
            conn.delete(dn)

    def groups_holding(self, dn: str) -> set[str]:
        """The Sésame groups of GROUPS whose `member` attribute holds `dn`, read from slapd."""
        found = set()
        with self._connection() as conn:
            for group in GROUPS:
                conn.search(group, "(objectClass=*)", BASE, attributes=["member"])
                assert len(conn.entries) == 1, (group, conn.result)
                held = {str(value).lower() for value in conn.entries[0]["member"].values}
                if dn.lower() in held:
                    found.add(group)
        return found


class Relay:
    """The local stack's relay of bus events to enforcement, on a period of its own."""

    def __init__(self, state_file: Path, bus: str) -> None:
        from chalicelib.dev.events import published_events

        # The relay starts with this test: the session's earlier grants were made without a
        # directory (their holders are not in slapd) and are marked handed over already.
        earlier = [fingerprint(event) for event in published_events(bus)]
        state_file.write_text(json.dumps(earlier), "utf-8")
        self.relay = AccessEventRelay(state_file, bus)
        self.handed: dict[str, int] = {}
        self.rounds = 0
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="access-relay", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(RELAY_PERIOD_S):
            try:
                for name, count in self.relay.relay().items():
                    self.handed[name] = self.handed.get(name, 0) + count
            except Exception as error:  # the stack logs and goes on; the test reports it
                self.errors.append(error)
            self.rounds += 1

    def wait_rounds(self, count: int) -> None:
        """Wait until `count` more rounds have run (the last one started after this call)."""
        target = self.rounds + count
        wait_for(lambda: self.rounds >= target, 60.0, 0.05)

    def stop(self) -> None:
        """Stop relaying (after the running round)."""
        self._stop.set()
        self._thread.join(timeout=30)


@pytest.fixture
def directory(
    slapd: SlapdProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[Directory, Relay]]:
    """Enforcement of the browser stack pointed at the session's slapd, its events relayed.

    The settings are the functions' (`SESAME_LDAP_*`, docs/enforcement.md), set for this test
    only: the other browser tests keep a stack without a directory.
    """
    from chalicelib.service.context import get_services
    from chalicelib.service.enforce_setup import reset_enforcer

    for name, value in enforcement_environment(slapd.url).items():
        monkeypatch.setenv(name, value)
    reset_enforcer()
    relay = Relay(tmp_path / "relayed.json", get_services().settings.event_bus)
    try:
        yield Directory(slapd), relay
    finally:
        relay.stop()
        monkeypatch.undo()
        reset_enforcer()
    assert not relay.errors, relay.errors


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


def test_the_grant_opens_squid_and_the_group_within_a_minute_and_the_revocation_closes_them(
    page: Any,
    open_page: OpenPage,
    base_url: str,
    origin: OriginServer,
    directory: tuple[Directory, Relay],
) -> None:
    slapd, relay = directory
    person = new_person("Gabrielle", "Roy")
    dn = slapd.add_person(person)
    proxy = proxy_for(base_url, origin, person.email)
    try:
        assert proxy.status(person.email, PLATFORM) == 403  # no grant yet
        assert slapd.groups_holding(dn) == set()

        confirmation = submit_french_request(page, base_url, person)
        reference = page.locator("main strong").first.inner_text().strip()
        page.goto(link_of(confirmation, "confirm"))
        page.get_by_role("button", name="Confirmer ma demande").click()
        manager = open_page()
        manager_mail = wait_for_mail(base_url, to=person.manager_email, kind="decide")
        manager.goto(link_of(manager_mail, "decide"))
        manager.get_by_role("button", name="Approuver").click()
        expect(manager.get_by_role("heading", level=1)).to_have_text("Décision enregistrée")
        # The manager's approval alone grants nothing: a full relay round later, no group.
        relay.wait_rounds(2)
        assert slapd.groups_holding(dn) == set()

        officer = open_page()
        sign_in(officer, base_url, OFFICER)
        officer.goto("/console")
        officer.get_by_role("link", name=reference).click()
        officer.get_by_label("Commentaire").fill("Conforme.")
        officer.get_by_role("button", name="Approuver").click()
        expect(officer.locator("p.status strong")).to_have_text("Approuvée")
        opened = wait_for(lambda: proxy.status(person.email, PLATFORM) == 200, 60.0, 0.25)
        # Within the same minute, the person is in the groups (wait_for fails past it).
        wait_for(lambda: slapd.groups_holding(dn) == set(GROUPS), 60 - opened)

        officer.get_by_label("Motif de la révocation").fill("Fin du mandat.")
        officer.get_by_role("button", name="Révoquer l'accès maintenant").click()
        expect(officer.locator("p.status strong")).to_have_text("Accès révoqué")
        closed = wait_for(lambda: proxy.status(person.email, PLATFORM) == 403, 60.0, 0.25)
        wait_for(lambda: slapd.groups_holding(dn) == set(), 60 - closed)
        assert not relay.handed.get("failed"), relay.handed
    finally:
        proxy.stop()
        squid_peer.USERS.remove(person.email)
        slapd.remove(dn)
