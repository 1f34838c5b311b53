"""Mail scanners, replays, forgeries and expiry: e-mail links never change anything by GET."""

from __future__ import annotations

from datetime import timedelta

import pytest
from chalice.test import Client

from chalicelib.service.context import get_services
from tests.integration.conftest import (
    file_request,
    hidden,
    html,
    link_with,
    outbox,
    path_of,
    post_form,
    press,
    state_counts,
)

pytestmark = pytest.mark.integration


def scan_every_link(client: Client) -> None:
    """Fetch every link of every e-mail as a scanner would: HEAD, then GET three times."""
    for mail in outbox():
        for link in mail.links:
            client.http.request("HEAD", path_of(link))
            for _ in range(3):
                client.http.get(path_of(link))


def snapshot(client: Client) -> tuple[dict[str, int], int]:
    return state_counts(), len(outbox())


def test_scanners_change_nothing_and_the_human_still_decides_once(client: Client) -> None:
    file_request(client)
    # Confirmation e-mail: a scanner fetches it first.
    before = snapshot(client)
    scan_every_link(client)
    assert snapshot(client) == before
    assert press(client, link_with(outbox()[0], "confirm")).status_code == 200

    # Manager's e-mail: scanned, then the human approves once; the second POST changes nothing.
    manager_link = link_with(outbox()[0], "decide")
    before = snapshot(client)
    scan_every_link(client)
    assert snapshot(client) == before
    page = html(client.http.get(manager_link))
    first = post_form(client, manager_link, {"csrf": hidden(page, "csrf"), "decision": "approve"})
    assert first.status_code == 200
    after_first = snapshot(client)
    second = post_form(
        client,
        manager_link,
        {"csrf": hidden(page, "csrf"), "decision": "refuse", "comment": "changed my mind"},
    )
    assert second.status_code == 409
    assert "déjà été approuvée par jean.gestion@mcn.gouv.qc.ca" in html(second)
    assert snapshot(client) == after_first

    # Officers' e-mails: scanned; the requester's status link too.
    before = snapshot(client)
    scan_every_link(client)
    assert snapshot(client) == before


def test_a_used_confirmation_link_says_so(client: Client) -> None:
    file_request(client)
    confirm_path = link_with(outbox()[0], "confirm")
    page = html(client.http.get(confirm_path))
    assert post_form(client, confirm_path, {"csrf": hidden(page, "csrf")}).status_code == 200
    again = post_form(client, confirm_path, {"csrf": hidden(page, "csrf")})
    assert again.status_code == 409
    assert "déjà été utilisé" in html(again)
    assert client.http.get(confirm_path).status_code == 409


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_altered_and_wrong_kind_tokens_get_the_same_not_found(
    client: Client, method: str
) -> None:
    file_request(client)
    status_path = link_with(outbox()[0], "status")
    confirm_path = link_with(outbox()[0], "confirm")
    token = confirm_path.rsplit("/", 1)[1]
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    request_id, _, secret = token.partition(".")
    for path in (
        f"/confirm/{altered}",
        f"/confirm/{'0' * len(request_id)}.{secret}",  # the request id swapped
        f"/confirm/{secret}",  # the request id dropped
        "/decide/" + "A" * 43,
        "/decide/not-a-token",
        "/decide/" + status_path.rsplit("/", 1)[1],  # a status token used to decide
    ):
        response = (
            client.http.get(path)
            if method == "GET"
            else post_form(client, path, {"csrf": "x", "decision": "approve"})
        )
        if method == "POST" and response.status_code == 403:
            continue  # refused earlier, by the CSRF check: still nothing changed
        assert response.status_code == 404, path
        assert "Lien introuvable" in html(response)


def test_a_post_without_the_page_csrf_token_changes_nothing(client: Client) -> None:
    file_request(client)
    confirm_path = link_with(outbox()[0], "confirm")
    before = snapshot(client)
    response = post_form(client, confirm_path, {"csrf": ""})
    assert response.status_code == 403
    assert snapshot(client) == before


def test_expiry_is_judged_by_the_server_clock_to_the_second(client: Client) -> None:
    file_request(client)
    press(client, link_with(outbox()[0], "confirm"))
    decide_path = link_with(outbox()[0], "decide")
    services = get_services()
    lifetime = timedelta(days=services.policy.organisation.link_lifetime_days)
    real_clock = services.clock
    sent_at = real_clock()

    services.clock = lambda: sent_at + lifetime + timedelta(seconds=2)
    expired = client.http.get(decide_path)
    assert expired.status_code == 410
    assert "Lien expiré" in html(expired)

    services.clock = lambda: sent_at + lifetime - timedelta(seconds=1)
    assert client.http.get(decide_path).status_code == 200
    approved = press(client, decide_path, decision="approve")
    assert approved.status_code == 200


def test_links_come_from_the_configured_base_url_never_the_host_header(client: Client) -> None:
    page = html(client.http.get("/", headers={"Host": "evil.example"}))
    from tests.conftest import valid_form

    form = {**valid_form(), "form_token": [hidden(page, "form_token")]}
    post_form(client, "/", form, Host="evil.example", **{"X-Forwarded-Host": "evil.example"})
    (mail,) = outbox()
    assert mail.links
    assert all(link.startswith("https://sesame.example.gouv.qc.ca/") for link in mail.links)
    assert "evil.example" not in mail.text + mail.html
