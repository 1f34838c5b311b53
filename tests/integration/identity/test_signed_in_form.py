"""A requester signed in with the provider files without the e-mail round trip (issue 15).

Over HTTP with the real provider: the form shows the proven address and the directory's
manager instead of asking; the request is filed confirmed in one go (no confirmation e-mail,
the manager asked at once), under the address of the sign-in whatever the form carries; the
audit event names the verified person. A signed-out requester keeps the confirmation e-mail.
"""

from __future__ import annotations

import pytest
from chalice.test import Client

from chalicelib.domain.models import AuditEvent
from chalicelib.service.context import Services
from tests.conftest import valid_form
from tests.integration.conftest import hidden, html, outbox, post_form
from tests.integration.identity.conftest import audit_bodies
from tests.integration.identity.test_decision_pages import through_provider
from tests.peers.oidc_provider import ProviderPeer

pytestmark = pytest.mark.integration
CAMILLE = "camille.demo@mcn.gouv.qc.ca"  # in policies/directory.toml, manager direction.demo
DIRECTION = "direction.demo@mcn.gouv.qc.ca"


def test_a_signed_in_requester_sees_the_directorys_manager_and_files_confirmed(
    client: Client, signin_services: Services, oidc_provider: ProviderPeer
) -> None:
    session, _ = through_provider(client, "/login/oidc?next=/", CAMILLE)
    page = html(client.http.get("/", headers={"Cookie": session}))
    assert f"{CAMILLE} (adresse confirmée par votre connexion)" in page
    assert f"Votre gestionnaire, selon l'annuaire de l'organisation : {DIRECTION}" in page
    assert 'name="manager_email" type="email"' not in page  # not asked
    form = valid_form(email="someone.else@mcn.gouv.qc.ca")  # a forged address is ignored
    form["form_token"] = [hidden(page, "form_token")]
    answer = post_form(client, "/", form, Cookie=session)
    assert answer.status_code == 200, html(answer)
    assert "aucun courriel de confirmation n'est nécessaire" in html(answer)
    # No confirmation e-mail: the manager is asked straight away.
    sent = outbox()
    assert [m.to for m in sent] == [[DIRECTION]]
    assert any("/decide/" in link for link in sent[0].links)
    [body] = audit_bodies("submitted")
    event = AuditEvent.model_validate_json(body)
    assert event.actor == CAMILLE and event.identity is not None
    assert event.identity.issuer == oidc_provider.issuer
    assert "address proven by sign-in" in (event.reason or "")


def test_a_signed_out_requester_still_confirms_by_email(client: Client) -> None:
    page = html(client.http.get("/"))
    assert 'name="email"' in page and "adresse confirmée par votre connexion" not in page
    form = valid_form()
    form["form_token"] = [hidden(page, "form_token")]
    assert post_form(client, "/", form).status_code == 200
    assert any("/confirm/" in link for link in outbox()[0].links)
