"""The console's side of enforcement, as an officer sees it: "Échecs", retry, reconcile now,
a grant's access, and the grants API's clients (the secret shown once).

A slapd of the test's own (so it can be stopped), the deployed functions' settings pointing
at it; the bus's events are handed to the app's function as the EventBridge rule would.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from chalice.test import Client
from ldap3 import MODIFY_ADD

from chalicelib.dev.events import published_events
from chalicelib.service.enforce_setup import reset_enforcer
from local_stack.ldap_process import (
    GROUPS_DN,
    PEOPLE_DN,
    PLACEHOLDER_DN,
    SERVICE_DN,
    SERVICE_PASSWORD,
    SlapdProcess,
)
from tests.integration.conftest import BUS
from tests.integration.people import get, html_of, post, sign_in
from tests.integration.test_enforcement_ldap import (
    LINKEDIN,
    MARIE,
    OFFICER,
    X,
    approved,
    audited,
    by_hand,
    members,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def own_slapd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlapdProcess]:
    """A slapd the test may stop, and the functions' settings pointing at it."""
    with SlapdProcess(tmp_path / "slapd") as server:
        for name, value in {
            "SESAME_LDAP_URL": server.url,
            "SESAME_LDAP_BIND_DN": SERVICE_DN,
            "SESAME_LDAP_PASSWORD": SERVICE_PASSWORD,
            "SESAME_LDAP_PEOPLE_BASE": PEOPLE_DN,
            "SESAME_LDAP_GROUPS_BASE": GROUPS_DN,
            "SESAME_LDAP_PLACEHOLDER_DN": PLACEHOLDER_DN,
        }.items():
            monkeypatch.setenv(name, value)
        reset_enforcer()
        yield server
    reset_enforcer()


def deliver_granted(client: Client) -> dict[str, int]:
    """Hand the bus's AccessGranted to the app's function, as the EventBridge rule does."""
    (granted,) = [e for e in published_events(BUS) if e["detail_type"] == "AccessGranted"]
    event = client.events.generate_cw_event(
        source="sesame", detail_type="AccessGranted", detail=granted["detail"], resources=[]
    )
    payload: dict[str, int] = client.lambda_.invoke("apply_access_event", event).payload
    return payload


def page_text(answer: object) -> str:
    """A page's HTML with entities decoded (what a reader sees, give or take the tags)."""
    return unescape(html_of(answer))


def test_a_failure_that_lasts_is_listed_in_echecs_and_retried_from_there(
    client: Client, own_slapd: SlapdProcess
) -> None:
    request_id = approved(client)
    own_slapd.stop()
    assert deliver_granted(client) == {"applied": 0, "failed": 2}

    cookie = sign_in(client, OFFICER)
    listing = get(client, "/console/failures", cookie)
    assert listing.status_code == 200
    text = page_text(listing)
    assert "<h1>Échecs</h1>" in text and "Envois en échec" not in text
    assert f"Ajout au groupe {LINKEDIN}" in text and f"Ajout au groupe {X}" in text
    assert "unavailable" in text and request_id[:8].upper() in text
    detail = page_text(get(client, f"/console/requests/{request_id}", cookie))
    assert "Accès dans l'annuaire" in detail and "En échec depuis le" in detail

    # The directory is back: the officer retries LinkedIn; X stays listed.
    own_slapd.start()
    retry = {"request_id": request_id, "group": LINKEDIN, "email": MARIE}
    answer = post(client, "/console/failures/access/retry", cookie, retry, listing)
    assert answer.status_code == 303 and "done=retried" in answer.headers["Location"]
    assert MARIE in members(own_slapd.url, LINKEDIN)
    after = page_text(get(client, "/console/failures?done=retried", cookie))
    assert "Le changement a été appliqué de nouveau." in after
    assert f"Ajout au groupe {LINKEDIN}" not in after and f"Ajout au groupe {X}" in after
    detail = page_text(get(client, f"/console/requests/{request_id}", cookie))
    assert "Appliqué depuis le" in detail
    # A retry of what is not a failure changes nothing and says so.
    again = post(client, "/console/failures/access/retry", cookie, retry, listing)
    assert again.status_code == 404


def test_reconcile_now_repairs_and_is_audited_with_the_officer(
    client: Client, own_slapd: SlapdProcess
) -> None:
    approved(client)
    assert deliver_granted(client) == {"applied": 2, "failed": 0}
    by_hand(own_slapd, LINKEDIN, "camille.demo", MODIFY_ADD)
    cookie = sign_in(client, OFFICER)
    listing = get(client, "/console/failures", cookie)
    answer = post(client, "/console/reconcile", cookie, {}, listing)
    assert answer.status_code == 200
    assert "0 ajout(s), 1 retrait(s), 0 échec(s)" in page_text(answer)
    assert members(own_slapd.url, LINKEDIN) == {MARIE}
    (asked,) = audited("reconciliation_requested")
    assert (asked.actor, asked.via) == (OFFICER, "console")
    assert len(audited("access_repaired")) == 1
    # Without the session's form token, nothing runs.
    forged = client.http.post(
        "/console/reconcile",
        body="csrf=forged",
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert forged.status_code == 403 and len(audited("reconciliation_requested")) == 1


def test_an_officer_creates_a_client_sees_its_secret_once_and_revokes_it(
    client: Client,
) -> None:
    cookie = sign_in(client, OFFICER)
    page = get(client, "/console/api-clients", cookie)
    assert page.status_code == 200 and "Aucun client de l'API." in page_text(page)
    bad = post(client, "/console/api-clients", cookie, {"name": "<script>x</script>"}, page)
    assert bad.status_code == 400 and b"<script>x" not in bad.body
    made = post(client, "/console/api-clients", cookie, {"name": "proxy Squid"}, page)
    assert made.status_code == 200
    text = page_text(made)
    client_id = text.split("client_id=", 1)[1].split("<", 1)[0]
    secret = text.split("client_secret=", 1)[1].split("<", 1)[0]
    credential = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    api = {"Authorization": credential}
    assert client.http.get("/api/v1/grants", headers=api).status_code == 200

    listing = get(client, "/console/api-clients", cookie)
    assert client_id in html_of(listing) and secret not in html_of(listing)
    revoked = post(client, f"/console/api-clients/{client_id}/revoke", cookie, {}, listing)
    assert revoked.status_code == 303
    assert client.http.get("/api/v1/grants", headers=api).status_code == 401
    assert "Révoqué le" in page_text(get(client, "/console/api-clients", cookie))
    assert [e.actor for e in audited("api_client_created")] == [OFFICER]


def test_signed_out_or_without_the_role_the_pages_refuse(client: Client) -> None:
    for path in ("/console/failures", "/console/api-clients"):
        assert client.http.get(path).status_code in (302, 303)
    cookie = sign_in(client, MARIE)
    assert get(client, "/console/api-clients", cookie).status_code == 403


def test_the_old_address_of_envois_en_echec_redirects_to_echecs_for_good(
    client: Client,
) -> None:
    # A bookmark of the old page, signed out or in, with a page cursor or none.
    for query, kept in (("", ""), ("?page=abc-_1", "?page=abc-_1"), ("?x=1", "")):
        moved = client.http.get(f"/console/deliveries{query}")
        assert moved.status_code == 308
        assert moved.headers["Location"] == f"/console/failures{kept}"
    cookie = sign_in(client, OFFICER)
    landed = get(client, "/console/failures", cookie)
    assert landed.status_code == 200
    assert "/console/deliveries" not in page_text(landed)  # no link or form to the old address


def test_the_local_stack_relays_each_bus_event_to_enforcement_once(
    client: Client, own_slapd: SlapdProcess, tmp_path: Path
) -> None:
    from local_stack.access_events import AccessEventRelay

    request_id = approved(client)
    relay = AccessEventRelay(tmp_path / "relayed.json", BUS)
    assert relay.relay() == {"applied": 2, "failed": 0}
    assert MARIE in members(own_slapd.url, LINKEDIN) and MARIE in members(own_slapd.url, X)
    # A second period, or a restart reading the same state file, hands nothing over again.
    assert relay.relay() == {}
    assert AccessEventRelay(tmp_path / "relayed.json", BUS).relay() == {}

    cookie = sign_in(client, OFFICER)
    page = get(client, f"/console/requests/{request_id}", cookie)
    revoked = post(
        client, f"/console/requests/{request_id}/revoke", cookie, {"reason": "Fin."}, page
    )
    assert revoked.status_code == 303
    assert relay.relay() == {"applied": 2, "failed": 0}
    assert MARIE not in members(own_slapd.url, LINKEDIN)
