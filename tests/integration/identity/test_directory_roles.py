"""Roles from directory groups (issue 15), resolved at sign-in into the session.

Jean is in `cn=reseau-administrateurs` of the real slapd, in no list of policies/, and his ID
token carries no role. A policy that maps that group to the security role makes him an officer
(the console opens, and he decides a security step there); one that maps it to the
communications group lets him take that group's steps in "Mes demandes". Without the mapping
he is neither. With the TOML directory, a member of rules.toml's group does the same. The
directory is read at sign-in only: a page never asks it again.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.domain.models import AuditEvent, ClientInfo, RequestStatus
from chalicelib.service.confirm import confirm_request
from chalicelib.service.console import decide_in_console
from chalicelib.service.context import Services, get_services
from chalicelib.service.directory_lookup import LOCAL_PASSWORD_VARIABLE
from chalicelib.service.submit import submit_request
from local_stack.ldap_process import SERVICE_PASSWORD, SlapdProcess
from local_stack.oidc_accounts import DemoAccount
from tests.conftest import valid_form
from tests.integration.identity.conftest import audit_bodies, with_directory
from tests.integration.identity.test_decision_pages import through_provider
from tests.integration.identity.test_decisions_bound import newest_token
from tests.integration.people import get, post, sign_in
from tests.peers.oidc_provider import ProviderPeer
from tests.peers.slapd import ldap_settings

pytestmark = pytest.mark.integration
CLIENT = ClientInfo(source_ip="192.0.2.10", user_agent="pytest")
JEAN = "jean.gestion@mcn.gouv.qc.ca"
CAMILLE = "camille.demo@mcn.gouv.qc.ca"  # her manager is direction.demo, not Jean
DIRECTION = "direction.demo@mcn.gouv.qc.ca"
COMMUNICATIONS = "communications.demo@mcn.gouv.qc.ca"
ADMINS_DN = "cn=reseau-administrateurs,ou=groups,dc=mcn,dc=gouv,dc=qc,dc=ca"  # Jean's group
PUBLISH = {"level": "publish", "justification": "Publier les annonces du ministère. " * 3}


@pytest.fixture
def ldap_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOCAL_PASSWORD_VARIABLE, SERVICE_PASSWORD)


def over_ldap(services: Services, url: str, groups: dict[str, str]) -> None:
    settings = ldap_settings(url)
    del settings["bind_password"]
    with_directory(
        services,
        kind="ldap",
        ldap=settings,
        bind_password_parameter="/sesame/test/ldap-bind-password",
        groups=groups,
    )


def camilles_request(services: Services, key: str, **fields: Any) -> str:
    """Camille files and confirms; direction.demo approves the manager step. Return the id."""
    form = valid_form(email=CAMILLE, name="Camille Démo", **fields)
    outcome = submit_request(services, form, key * 8, "fr", CLIENT)
    assert outcome.request is not None, outcome.errors
    confirm_request(services, newest_token(CAMILLE, "confirm"), CLIENT)
    decide_in_console(services, outcome.request.id, 0, DIRECTION, "approve", "", CLIENT)
    return outcome.request.id


def test_a_directory_group_mapped_to_security_makes_an_officer_who_decides_in_the_console(
    client: Client,
    signin_services: Services,
    oidc_provider: ProviderPeer,
    slapd: SlapdProcess,
    ldap_password: None,
) -> None:
    over_ldap(signin_services, slapd.url, groups={})
    unmapped, _ = through_provider(client, "/login/oidc", JEAN)
    assert get(client, "/console", unmapped).status_code == 403  # his group gives nothing
    over_ldap(signin_services, slapd.url, groups={ADMINS_DN: "security"})
    session, landing = through_provider(client, "/login/oidc", JEAN)
    assert landing == "/console"  # sent where officers go
    request_id = camilles_request(signin_services, "r1")
    queue = html_of(get(client, "/console", session))
    assert request_id[:8].upper() in queue
    detail = get(client, f"/console/requests/{request_id}", session)
    assert detail.status_code == 200
    approved = post(
        client, f"/console/requests/{request_id}/decide", session,
        {"decision": "approve", "step": "1"}, detail,
    )  # fmt: skip
    assert approved.status_code == 303
    stored = signin_services.store.load_request(request_id)
    assert stored is not None and stored.status == RequestStatus.APPROVED
    assert stored.steps[1].decided_by == JEAN
    [event] = [
        e
        for e in (AuditEvent.model_validate_json(b) for b in audit_bodies("approved"))
        if e.actor == JEAN
    ]
    assert event.identity is not None
    assert event.identity.subject == DemoAccount(JEAN, "").object_id
    # Resolved at sign-in: the session opened before the mapping stays without the role.
    assert get(client, "/console", unmapped).status_code == 403


def test_a_directory_group_mapped_to_communications_takes_that_groups_steps(
    client: Client, slapd: SlapdProcess, ldap_password: None
) -> None:
    services = get_services()
    over_ldap(services, slapd.url, groups={ADMINS_DN: "communications"})
    request_id = camilles_request(services, "r2", **PUBLISH)
    cookie = sign_in(client, JEAN)  # an e-mail link's session gets the directory's roles too
    path, page = takes_the_step(client, cookie, request_id)
    approved = post(client, path, cookie, {"decision": "approve", "step": "1"}, page)
    assert approved.status_code == 303
    stored = services.store.load_request(request_id)
    assert stored is not None and stored.steps[1].decided_by == JEAN
    assert stored.steps[1].role == "communications"


def test_without_the_mapping_the_group_step_is_not_theirs(
    client: Client, slapd: SlapdProcess, ldap_password: None
) -> None:
    services = get_services()
    over_ldap(services, slapd.url, groups={})
    request_id = camilles_request(services, "r3", **PUBLISH)
    cookie = sign_in(client, JEAN)
    assert request_id not in html_of(get(client, "/me", cookie))
    assert get(client, f"/me/steps/{request_id}", cookie).status_code == 403


def test_a_member_of_the_toml_group_takes_its_steps_in_my_requests(client: Client) -> None:
    services = get_services()  # the embedded TOML directory: rules.toml's group
    request_id = camilles_request(services, "r4", **PUBLISH)
    cookie = sign_in(client, COMMUNICATIONS)
    path, page = takes_the_step(client, cookie, request_id)
    approved = post(client, path, cookie, {"decision": "approve", "step": "1"}, page)
    assert approved.status_code == 303
    stored = services.store.load_request(request_id)
    assert stored is not None and stored.steps[1].decided_by == COMMUNICATIONS
    # Camille's own manager holds no such role: the step is not his to take.
    manager = sign_in(client, DIRECTION)
    assert request_id not in html_of(get(client, "/me", manager))


def takes_the_step(client: Client, cookie: str, request_id: str) -> tuple[str, str]:
    """The step is listed in "Mes demandes" and its page opens; return its path and page."""
    mine = html_of(get(client, "/me", cookie))
    assert "Étapes qui attendent votre décision" in mine
    paths = re.findall(r'href="(/me/steps/[a-z0-9]+)"', mine)
    assert f"/me/steps/{request_id}" in paths
    page = get(client, f"/me/steps/{request_id}", cookie)
    assert page.status_code == 200
    assert "Étape 2 sur 3" in html_of(page)
    return f"/me/steps/{request_id}", html_of(page)


def html_of(page: Any) -> str:
    return str(page.body.decode("utf-8"))
