"""A manager names a deputy: their steps go to the deputy for the range, and come back after."""

from __future__ import annotations

from datetime import timedelta

import pytest
from chalice.test import Client

from chalicelib.rendering.i18n import LOCAL_ZONE
from chalicelib.service.context import get_services
from tests.integration.conftest import (
    file_request,
    hidden,
    html,
    link_with,
    outbox,
    post_form,
    press,
)

pytestmark = pytest.mark.integration
MANAGER, DEPUTY = "jean.gestion@mcn.gouv.qc.ca", "adjointe@mcn.gouv.qc.ca"


def newest(address: str, kind: str = "decide", about: str = "") -> str:
    """The newest link of a kind sent to an address (in a mail mentioning `about`)."""
    mail = next(
        m
        for m in outbox()
        if address in m.to and about in m.text and any(f"/{kind}/" in x for x in m.links)
    )
    return link_with(mail, kind)


def test_a_deputy_decides_within_the_range_and_the_manager_again_after(client: Client) -> None:
    services = get_services()
    real_clock = services.clock
    today = real_clock().astimezone(LOCAL_ZONE).date()

    # Given two requests waiting for the manager
    file_request(client, email="premiere@mcn.gouv.qc.ca")
    press(client, newest("premiere@mcn.gouv.qc.ca", "confirm"))
    file_request(client, email="seconde@mcn.gouv.qc.ca")
    press(client, newest("seconde@mcn.gouv.qc.ca", "confirm"))
    first_for_manager = newest(MANAGER, about="premiere@")

    # When the manager names a deputy for three days, from the link in an approval e-mail
    delegate_path = first_for_manager.replace("/decide/", "/delegate/")
    page = html(client.http.get(delegate_path))
    assert "Nommer un suppléant" in page
    done = post_form(
        client,
        delegate_path,
        {
            "csrf": hidden(page, "csrf"),
            "deputy": DEPUTY,
            "starts": today.isoformat(),
            "ends": (today + timedelta(days=2)).isoformat(),
        },
    )
    assert done.status_code == 200, html(done)
    assert "Demandes en attente confiées dès maintenant : 2." in html(done)

    # Then both waiting steps went to the deputy, and the manager got copies
    deputy_links = [link_with(m, "decide") for m in outbox() if DEPUTY in m.to]
    assert len(deputy_links) == 2
    copies = [m for m in outbox() if MANAGER in m.to and "Pour information" in m.subject]
    assert len(copies) == 2
    # and the manager's own link now says the step is delegated
    delegated = client.http.get(first_for_manager)
    assert delegated.status_code == 409
    assert "Étape déléguée" in html(delegated)

    # A new request during the range goes straight to the deputy
    file_request(client, email="troisieme@mcn.gouv.qc.ca")
    press(client, newest("troisieme@mcn.gouv.qc.ca", "confirm"))
    assert "troisieme@" in next(m for m in outbox() if DEPUTY in m.to).text

    # The deputy decides one request in the manager's place
    first_for_deputy = newest(DEPUTY, about="premiere@")
    assert press(client, first_for_deputy, decision="approve").status_code == 200
    request_status = html(client.http.get(newest("premiere@mcn.gouv.qc.ca", "status")))
    assert DEPUTY in request_status

    # After the range, the deputy's link no longer works and the manager's works again
    services.clock = lambda: real_clock() + timedelta(days=4)
    second_for_deputy = newest(DEPUTY, about="seconde@")
    assert client.http.get(second_for_deputy).status_code == 410
    second_for_manager = newest(MANAGER, about="seconde@")
    assert press(client, second_for_manager, decision="approve").status_code == 200


def test_a_deputy_cannot_be_oneself_and_bad_dates_are_explained(client: Client) -> None:
    file_request(client)
    press(client, newest("marie.tremblay@mcn.gouv.qc.ca", "confirm"))
    delegate_path = newest(MANAGER).replace("/decide/", "/delegate/")
    page = html(client.http.get(delegate_path))
    for deputy, starts, message in (
        (MANAGER, "2099-01-01", "autre personne que vous"),
        (DEPUTY, "not-a-date", "Entrez des dates valides"),
        ("ami@gmail.com", "2099-01-01", "domaine autorisé"),
    ):
        response = post_form(
            client,
            delegate_path,
            {
                "csrf": hidden(page, "csrf"),
                "deputy": deputy,
                "starts": starts,
                "ends": "2099-01-02",
            },
        )
        assert response.status_code == 400
        assert message in html(response)
        assert f'value="{deputy}"' in html(response)
