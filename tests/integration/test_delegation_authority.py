"""Who may name a deputy, whom, and what a deputy may then decide (issue 13, items 4 to 6)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib.rendering.i18n import LOCAL_ZONE
from chalicelib.service.context import get_services
from tests.integration.conftest import (
    AUDIT,
    file_request,
    hidden,
    html,
    link_with,
    outbox,
    post_form,
    press,
    state_counts,
)
from tests.integration.people import get, post, sign_in

pytestmark = pytest.mark.integration
REQUESTER = "marie.tremblay@mcn.gouv.qc.ca"
MANAGER, DEPUTY = "jean.gestion@mcn.gouv.qc.ca", "adjointe@mcn.gouv.qc.ca"
OFFICER, OTHER_MANAGER = "securite.demo@mcn.gouv.qc.ca", "paul.gestion@mcn.gouv.qc.ca"


def decide_links(address: str, about: str) -> list[str]:
    """Every decision link sent to an address in a mail mentioning `about`, newest first."""
    return [
        link_with(m, "decide")
        for m in outbox()
        if address in m.to and about in m.text and any("/decide/" in x for x in m.links)
    ]


def confirmed_request(client: Client, requester: str = REQUESTER, **fields: Any) -> None:
    """File a request and confirm it like the requester."""
    assert file_request(client, email=requester, **fields).status_code == 200
    confirm = next(m for m in outbox() if requester in m.to and "/confirm/" in " ".join(m.links))
    assert press(client, link_with(confirm, "confirm")).status_code == 200


def delegate(client: Client, decide_path: str, deputy: str, days: int = 2, lang: str = "") -> Any:
    """Name a deputy from an approval link's delegation page, from today for `days` more."""
    path = decide_path.replace("/decide/", "/delegate/")
    today = get_services().clock().astimezone(LOCAL_ZONE).date()
    page = client.http.get(path)
    assert page.status_code == 200, html(page)
    query = f"?lang={lang}" if lang else ""
    return post_form(
        client,
        path + query,
        {
            "csrf": hidden(html(page), "csrf"),
            "deputy": deputy,
            "starts": today.isoformat(),
            "ends": (today + timedelta(days=days)).isoformat(),
        },
    )


HOSTILE_DEPUTIES = [
    "boss <evil@attacker.example>@mcn.gouv.qc.ca",
    "evil@attacker.example,x@mcn.gouv.qc.ca",
    "evil@attacker.example, x@mcn.gouv.qc.ca",
    '"evil@attacker.example" x@mcn.gouv.qc.ca',
    "x@mcn.gouv.qc.ca\nBcc: evil@attacker.example",
    "x\n@mcn.gouv.qc.ca",
    "x\r\n@mcn.gouv.qc.ca",
    "x@mcn.gouv.qc.ca\x00",
    "Evil <x@mcn.gouv.qc.ca>",
]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_deputy_other_than_one_bare_address_is_refused_and_nothing_is_stored_or_sent(
    client: Client, lang: str
) -> None:
    # Given a request waiting for the manager, and what was stored and sent so far
    confirmed_request(client)
    manager_link = decide_links(MANAGER, REQUESTER)[0]
    before, sent = state_counts(), len(outbox())
    message = {
        "fr": "Entrez une adresse courriel valide",
        "en": "Enter a valid e-mail address",
    }[lang]
    # When the link holder names a deputy who is a display name, a list or has a line break
    for deputy in HOSTILE_DEPUTIES:
        answer = delegate(client, manager_link, deputy, lang=lang)
        # Then the form says what is wrong with the field, in the person's language
        assert answer.status_code == 400, deputy
        assert message in html(answer), deputy
    # and nothing was stored, nothing was sent, least of all to the outside address
    assert state_counts() == before
    assert len(outbox()) == sent
    assert not [m for m in outbox() if any("attacker" in to for to in m.to)]
    # while a well-formed deputy of an allowed domain is still accepted
    assert delegate(client, manager_link, DEPUTY).status_code == 200
    assert all(m.to == [DEPUTY] for m in outbox()[: len(outbox()) - sent] if DEPUTY in m.to)


def test_a_used_or_expired_approval_link_cannot_name_a_deputy(client: Client) -> None:
    services = get_services()
    real_clock = services.clock
    # Given one request decided by the manager, and another whose link has expired
    confirmed_request(client)
    used = decide_links(MANAGER, REQUESTER)[0]
    assert press(client, used, decision="approve").status_code == 200
    confirmed_request(client, "luc.autre@mcn.gouv.qc.ca")
    late = decide_links(MANAGER, "luc.autre@")[0]
    before, sent = state_counts(), len(outbox())
    path = used.replace("/decide/", "/delegate/")
    # When the used link's delegation page is opened, or its form sent anyway
    assert client.http.get(path).status_code == 409
    form = {"csrf": "x", "deputy": DEPUTY, "starts": "2026-12-01", "ends": "2026-12-02"}
    assert post_form(client, path, form).status_code in (403, 409)
    # and the other link's page once it has expired
    services.clock = lambda: real_clock() + timedelta(days=40)
    try:
        assert client.http.get(late.replace("/decide/", "/delegate/")).status_code == 410
    finally:
        services.clock = real_clock
    # Then nothing was stored or sent
    assert state_counts() == before
    assert len(outbox()) == sent


def test_a_delegation_starts_within_thirty_days(client: Client) -> None:
    confirmed_request(client)
    path = decide_links(MANAGER, REQUESTER)[0].replace("/decide/", "/delegate/")
    today = get_services().clock().astimezone(LOCAL_ZONE).date()
    page = html(client.http.get(path))
    before = state_counts()
    for lead, status in ((31, 400), (30, 200)):
        starts = today + timedelta(days=lead)
        answer = post_form(
            client,
            path,
            {
                "csrf": hidden(page, "csrf"),
                "deputy": DEPUTY,
                "starts": starts.isoformat(),
                "ends": (starts + timedelta(days=3)).isoformat(),
            },
        )
        assert answer.status_code == status, html(answer)
        if status == 400:
            assert "commencer au plus tard dans 30 jours" in html(answer)
            assert state_counts() == before


def test_the_manager_cannot_decide_the_security_step_as_an_officers_deputy(
    client: Client,
) -> None:
    # Given a request whose manager handed their steps to a deputy
    confirmed_request(client)
    assert delegate(client, decide_links(MANAGER, REQUESTER)[0], DEPUTY).status_code == 200
    # and an officer who named that manager as their own deputy (from another request's link)
    confirmed_request(client, "luc.autre@mcn.gouv.qc.ca", manager_email=OTHER_MANAGER)
    other = decide_links(OTHER_MANAGER, "luc.autre@")[0]
    assert press(client, other, decision="approve").status_code == 200
    officer_link = decide_links(OFFICER, "luc.autre@")[0]
    assert delegate(client, officer_link, MANAGER).status_code == 200
    links_to_manager = len(decide_links(MANAGER, REQUESTER))

    # When the manager's deputy approves the manager step
    deputy_link = decide_links(DEPUTY, REQUESTER)[0]
    assert press(client, deputy_link, decision="approve").status_code == 200

    # Then the manager is not handed the security step as the officer's deputy
    assert len(decide_links(MANAGER, REQUESTER)) == links_to_manager
    # and the officer still decides it from their own link (it is not "delegated" to them)
    own = decide_links(OFFICER, REQUESTER)[0]
    assert client.http.get(own).status_code == 200
    assert press(client, own, decision="approve").status_code == 200


def audit_actions() -> list[str]:
    """Every audit event's action (test-only scan)."""
    items = boto3.client("dynamodb").scan(TableName=AUDIT)["Items"]
    return [i["action"]["S"] for i in items if "action" in i]


def test_the_approver_is_told_and_cancels_from_the_email_once(client: Client) -> None:
    # Given a request waiting for the manager, and a deputy named from the manager's link
    confirmed_request(client)
    assert delegate(client, decide_links(MANAGER, REQUESTER)[0], DEPUTY).status_code == 200
    deputy_link = decide_links(DEPUTY, REQUESTER)[0]
    # Then the manager is told, in both languages, with a link to cancel
    notice = next(m for m in outbox() if m.to == [MANAGER] and "/undelegate/" in " ".join(m.links))
    assert DEPUTY in notice.subject and "annulez-la" in notice.text and "cancel it" in notice.text
    cancel = link_with(notice, "undelegate")

    # When a mail scanner fetches the link (HEAD, then GET three times), nothing changes
    before = state_counts()
    client.http.request("HEAD", cancel)  # type: ignore[attr-defined]
    for _ in range(3):
        page = client.http.get(cancel)
        assert page.status_code == 200 and "Annuler la délégation" in html(page)
    assert state_counts() == before
    # and a POST without the page's token is refused
    assert post_form(client, cancel, {"csrf": "forged"}).status_code == 403
    assert state_counts() == before

    # When the manager presses the button
    done = press(client, cancel)
    assert done.status_code == 200, html(done)
    assert "Demandes qui vous reviennent dès maintenant : 1." in html(done)
    # Then it is audited, the deputy's link stops, and the manager decides from a new link
    assert "delegation_cancelled" in audit_actions()
    assert client.http.get(deputy_link).status_code == 410
    assert press(client, decide_links(MANAGER, REQUESTER)[0], decision="approve").status_code == 200
    # and the cancel link works once only
    assert client.http.get(cancel).status_code == 409


def test_a_cancel_link_expires_when_its_delegation_ends(client: Client) -> None:
    services = get_services()
    real_clock = services.clock
    confirmed_request(client)
    assert delegate(client, decide_links(MANAGER, REQUESTER)[0], DEPUTY, days=1).status_code == 200
    notice = next(m for m in outbox() if m.to == [MANAGER] and "/undelegate/" in " ".join(m.links))
    services.clock = lambda: real_clock() + timedelta(days=3)
    try:
        assert client.http.get(link_with(notice, "undelegate")).status_code == 410
    finally:
        services.clock = real_clock


def test_my_requests_lists_my_delegations_and_cancels_one(client: Client) -> None:
    # Given a manager who named a deputy
    confirmed_request(client)
    assert delegate(client, decide_links(MANAGER, REQUESTER)[0], DEPUTY).status_code == 200
    deputy_link = decide_links(DEPUTY, REQUESTER)[0]
    # When the manager signs in, "my requests" lists the delegation with a cancel button
    cookie = sign_in(client, MANAGER)
    page = html(get(client, "/me", cookie))
    assert "Vos délégations" in page and DEPUTY in page
    found = re.search(r'action="[^"]*/me/delegations/([a-z0-9]+)/cancel"', page)
    assert found
    path = f"/me/delegations/{found.group(1)}/cancel"
    # and someone else signed in cannot cancel it
    other = sign_in(client, DEPUTY)
    assert post(client, path, other, {}, get(client, "/me", other)).status_code == 404
    assert client.http.get(deputy_link).status_code == 200
    # When the manager presses it
    answer = post(client, path, cookie, {}, page)
    assert answer.status_code == 303
    # Then the list no longer shows it, the deputy's link stops, the manager's comes back
    after = html(get(client, "/me?done=undelegated", cookie))
    assert "Votre délégation est annulée" in after and DEPUTY not in after
    assert "Aucune délégation en cours ou à venir." in after
    assert client.http.get(deputy_link).status_code == 410
    assert press(client, decide_links(MANAGER, REQUESTER)[0], decision="approve").status_code == 200
    assert audit_actions().count("delegation_cancelled") == 1


def test_a_signed_in_approver_names_a_deputy_from_my_requests(client: Client) -> None:
    # Given a request waiting for the manager, who is signed in
    confirmed_request(client)
    cookie = sign_in(client, MANAGER)
    page = html(get(client, "/me", cookie))
    assert "Nommer un suppléant" in page and "Aucune délégation en cours ou à venir." in page
    today = get_services().clock().astimezone(LOCAL_ZONE).date()
    days = {"starts": today.isoformat(), "ends": (today + timedelta(days=2)).isoformat()}
    before, sent = state_counts(), len(outbox())
    # When the deputy typed is not one bare address of an allowed domain, or nobody is signed in
    refused = post(client, "/me/delegations", cookie, {"deputy": HOSTILE_DEPUTIES[0], **days}, page)
    assert refused.status_code == 400
    assert "Entrez une adresse courriel valide" in html(refused)
    signed_out = post_form(client, "/me/delegations", {"deputy": DEPUTY, **days})
    assert signed_out.status_code in (303, 403)
    # Then nothing is stored or sent
    assert state_counts() == before and len(outbox()) == sent

    # When a good deputy is named
    answer = post(client, "/me/delegations", cookie, {"deputy": DEPUTY, **days}, page)
    assert answer.status_code == 303
    # Then the waiting step goes to the deputy, and the page lists the delegation
    assert len(decide_links(DEPUTY, REQUESTER)) == 1
    listed = html(get(client, "/me?done=delegated", cookie))
    assert "Votre délégation est enregistrée." in listed and DEPUTY in listed
    # and a second delegation over the same days is refused until the first is cancelled
    again = post(
        client, "/me/delegations", cookie, {"deputy": "autre@mcn.gouv.qc.ca", **days}, page
    )
    assert again.status_code == 400 and "annulez-la d'abord" in html(again)
    assert audit_actions().count("delegated") == 1
