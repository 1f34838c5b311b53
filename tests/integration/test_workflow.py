"""The whole path: file, confirm, manager approves, officer approves; and a refusal."""

from __future__ import annotations

import pytest
from chalice.test import Client

from tests.integration.conftest import file_request, html, link_with, outbox, press

pytestmark = pytest.mark.integration


def test_request_goes_through_manager_then_security_and_the_requester_is_told(
    client: Client,
) -> None:
    # Given a filed request
    response = file_request(client)
    assert response.status_code == 200, html(response)
    assert "Demande reçue" in html(response)
    (confirmation,) = outbox()
    assert confirmation.to == ["marie.tremblay@mcn.gouv.qc.ca"]

    # When the requester confirms, the manager is asked
    confirmed = press(client, link_with(confirmation, "confirm"))
    assert confirmed.status_code == 200, html(confirmed)
    manager_mail = outbox()[0]
    assert manager_mail.to == ["jean.gestion@mcn.gouv.qc.ca"]
    assert "votre approbation est requise" in manager_mail.subject

    # When the manager approves, every security officer is asked
    approved = press(client, link_with(manager_mail, "decide"), decision="approve")
    assert approved.status_code == 200, html(approved)
    officer_mails = outbox()[:2]
    assert sorted(m.to[0] for m in officer_mails) == [
        "rssi.demo@mcn.gouv.qc.ca",
        "securite.demo@mcn.gouv.qc.ca",
    ]

    # When one officer approves, the requester learns until when
    final = press(client, link_with(officer_mails[0], "decide"), decision="approve")
    assert final.status_code == 200, html(final)
    outcome = outbox()[0]
    assert outcome.to == ["marie.tremblay@mcn.gouv.qc.ca"]
    assert "est approuvé" in outcome.subject
    assert "jusqu'au" in outcome.text

    # Then the status page shows the whole timeline
    status = client.http.get(link_with(outcome, "status"))
    page = html(status)
    assert "Approuvée" in page
    for action in ("Demande déposée", "Adresse confirmée", "Approuvée à l'étape"):
        assert action in page

    # And the other officer's link now says who decided, and changes nothing
    late = client.http.get(link_with(officer_mails[1], "decide"))
    assert late.status_code == 409
    assert "déjà été approuvée par" in html(late)


def test_manager_refusal_needs_a_comment_and_tells_the_requester_why(client: Client) -> None:
    file_request(client, lang="en")
    press(client, link_with(outbox()[0], "confirm"))
    decide_path = link_with(outbox()[0], "decide")

    without_comment = press(client, decide_path, decision="refuse")
    assert without_comment.status_code == 400
    assert "Un commentaire est obligatoire pour refuser" in html(without_comment)

    refused = press(client, decide_path, decision="refuse", comment="Pas lié à vos fonctions.")
    assert refused.status_code == 200
    outcome = outbox()[0]
    assert outcome.to == ["marie.tremblay@mcn.gouv.qc.ca"]
    assert "is refused" in outcome.subject  # the requester wrote in English
    assert "jean.gestion@mcn.gouv.qc.ca" in outcome.text
    assert "Pas lié à vos fonctions." in outcome.text
    # The requester's links open in the language they filed in.
    status_link = next(link for link in outcome.links if "/status/" in link)
    assert status_link.endswith("?lang=en")
    assert '<html lang="en">' in html(
        client.http.get(status_link.split("sesame.example.gouv.qc.ca")[1])
    )
