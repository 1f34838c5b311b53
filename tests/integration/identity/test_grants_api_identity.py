"""The grants API names a requester who filed signed in by their issuer and subject (issue 16).

Over HTTP with the real provider: Camille signs in and files, her manager signs in and
approves from the e-mail, an officer signs in and approves in the console; the proxy's client
then reads `GET /api/v1/grants` and finds Camille as the provider knows her (issuer, subject,
e-mail), which the served OpenAPI document describes.
"""

from __future__ import annotations

import json

import pytest
from chalice.test import Client

from chalicelib.domain.grants_api import GrantsPage
from chalicelib.service.context import Services
from local_stack.oidc_accounts import DemoAccount
from tests.conftest import valid_form
from tests.integration.conftest import hidden, html, link_with, outbox, post_form
from tests.integration.identity.test_decision_pages import approve, through_provider
from tests.integration.test_api_routes import GRANTS, call, credential_for
from tests.peers.oidc_provider import ProviderPeer

pytestmark = pytest.mark.integration
CAMILLE = "camille.demo@mcn.gouv.qc.ca"  # in policies/directory.toml, manager direction.demo
DIRECTION = "direction.demo@mcn.gouv.qc.ca"
OFFICER = "securite.demo@mcn.gouv.qc.ca"


def filed_signed_in(client: Client) -> str:
    """Camille signs in with the provider and files; return her manager's decision path."""
    session, _ = through_provider(client, "/login/oidc?next=/", CAMILLE)
    page = html(client.http.get("/", headers={"Cookie": session}))
    form = valid_form(email=CAMILLE)
    form["form_token"] = [hidden(page, "form_token")]
    assert post_form(client, "/", form, Cookie=session).status_code == 200
    [mail] = [m for m in outbox() if m.to == [DIRECTION]]
    return link_with(mail, "decide")


def test_a_grant_filed_signed_in_is_listed_with_the_issuer_and_subject_of_the_sign_in(
    client: Client, signin_services: Services, oidc_provider: ProviderPeer
) -> None:
    from chalicelib.service.links import link_request_id

    path = filed_signed_in(client)
    manager, _ = through_provider(client, f"{path}/sign-in", DIRECTION)
    assert approve(client, path, manager).status_code == 200
    officer, _ = through_provider(client, "/login/oidc", OFFICER)
    detail = f"/console/requests/{link_request_id(path.rsplit('/', 1)[-1])}"
    page = html(client.http.get(detail, headers={"Cookie": officer}))
    form = {"csrf": hidden(page, "csrf"), "step": "1", "decision": "approve", "comment": ""}
    assert post_form(client, f"{detail}/decide", form, Cookie=officer).status_code == 303

    _, credential = credential_for(signin_services)
    answer = call(client, GRANTS, credential)
    assert answer.status_code == 200, answer.body
    grants = GrantsPage.model_validate_json(answer.body).grants
    assert sorted(g.platform for g in grants) == ["linkedin", "x"]
    for grant in grants:
        assert grant.person.email == CAMILLE
        assert grant.person.issuer == oidc_provider.issuer
        assert grant.person.subject == DemoAccount(CAMILLE, "").object_id

    # The served document says what these fields hold.
    document = json.loads(client.http.get("/api/v1/openapi.json").body)
    person = document["components"]["schemas"]["GrantPerson"]["properties"]
    assert "filed signed in" in person["issuer"]["description"]
    assert {"type": "string"} in person["subject"]["anyOf"]
