"""The requester's manager from the directory when filing (TOML, and LDAP against real slapd).

A manager the directory names replaces the typed one and is marked verified; a requester the
directory does not know keeps the typed manager, marked "typed" (shown as not verified), or is
refused when the policy requires the directory's; a directory that is down files nothing.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from chalicelib.domain.models import ClientInfo
from chalicelib.domain.requester import DIRECTORY_UNAVAILABLE, MANAGER_NOT_IN_DIRECTORY
from chalicelib.service.context import Services, get_services
from chalicelib.service.directory_lookup import LOCAL_PASSWORD_VARIABLE, person_roles
from chalicelib.service.submit import SubmitOutcome, submit_request
from local_stack.ldap_process import SERVICE_PASSWORD, SlapdProcess
from tests.conftest import UNLISTED, valid_form
from tests.integration.conftest import item_counts, outbox
from tests.integration.identity.conftest import over_ldap, with_directory

pytestmark = pytest.mark.integration
CLIENT = ClientInfo(source_ip="192.0.2.8", user_agent="pytest")
JEAN = "jean.gestion@mcn.gouv.qc.ca"
DIRECTION = "direction.demo@mcn.gouv.qc.ca"


def file(services: Services, key: str = "k1", **fields: Any) -> SubmitOutcome:
    return submit_request(services, valid_form(**fields), key * 8, "fr", CLIENT)


@pytest.fixture
def services(aws: None, monkeypatch: pytest.MonkeyPatch) -> Services:
    monkeypatch.setenv(LOCAL_PASSWORD_VARIABLE, SERVICE_PASSWORD)
    return get_services()


# --- the TOML directory (the embedded default) ---------------------------------------------


def test_a_requester_the_toml_directory_knows_gets_its_manager_verified(
    services: Services,
) -> None:
    # camille.demo is in directory.toml (manager direction.demo): a typed manager is ignored.
    outcome = file(services, email="camille.demo@mcn.gouv.qc.ca", manager_email=JEAN)
    assert outcome.request is not None
    assert outcome.request.content.manager_email == DIRECTION
    assert outcome.request.manager_source == "directory"
    stored = services.store.load_request(outcome.request.id)
    assert stored is not None and stored.manager_source == "directory"


def test_a_requester_unknown_to_the_directory_keeps_the_typed_manager_not_verified(
    services: Services,
) -> None:
    outcome = file(services, email=UNLISTED)  # named in no file of policies/
    assert outcome.request is not None
    assert outcome.request.content.manager_email == JEAN
    stored = services.store.load_request(outcome.request.id)
    assert stored is not None and stored.manager_source == "typed"


def test_require_directory_manager_refuses_an_unknown_requester_and_files_nothing(
    services: Services,
) -> None:
    with_directory(services, require_directory_manager=True)
    before = item_counts()
    outcome = file(services, email=UNLISTED)
    assert outcome.request is None
    assert outcome.errors == {"manager_email": MANAGER_NOT_IN_DIRECTORY}
    assert item_counts() == before
    # Someone the directory knows still files.
    known = file(services, "k2", email="olivier.demo@mcn.gouv.qc.ca")
    assert known.request is not None and known.request.manager_source == "directory"


# --- LDAP, against the real slapd ----------------------------------------------------------


def test_the_manager_comes_from_ldap_whatever_was_typed(
    services: Services, slapd: SlapdProcess
) -> None:
    over_ldap(services, slapd.url)
    # marie.tremblay's entry names jean.gestion (OpenLDAP style: `manager` DN, `mail`).
    outcome = file(services, manager_email="quelquun.autre@mcn.gouv.qc.ca")
    assert outcome.request is not None
    assert outcome.request.content.manager_email == JEAN
    assert outcome.request.manager_source == "directory"
    assert outcome.request.steps[0].approvers == (JEAN,)


def test_an_active_directory_entry_gives_its_manager_too(
    services: Services, slapd: SlapdProcess
) -> None:
    over_ldap(services, slapd.url)
    # rssi.demo is an AD-style entry (userPrincipalName, no mail); the AD flavour finds it.
    with_directory(
        services,
        **{
            **services.policy.identity.directory.model_dump(),
            "ldap": {**(services.policy.identity.directory.ldap or {}), "flavour": "ad"},
        },
    )
    outcome = file(services, email="rssi.demo@mcn.gouv.qc.ca", manager_email=JEAN)
    assert outcome.request is not None
    assert outcome.request.content.manager_email == DIRECTION
    assert outcome.request.manager_source == "directory"


def test_a_requester_ldap_does_not_know_is_refused_when_required(
    services: Services, slapd: SlapdProcess
) -> None:
    over_ldap(services, slapd.url, require_directory_manager=True)
    before = item_counts()
    outcome = file(services, email="inconnu.demo@mcn.gouv.qc.ca")
    assert outcome.errors == {"manager_email": MANAGER_NOT_IN_DIRECTORY}
    assert item_counts() == before


def test_a_directory_that_is_down_files_nothing_and_says_so(services: Services) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    over_ldap(services, f"ldap://127.0.0.1:{port}")
    before = item_counts()
    outcome = file(services)
    assert outcome.request is None and outcome.errors == {"form": DIRECTORY_UNAVAILABLE}
    assert item_counts() == before
    assert outbox() == []  # no confirmation e-mail either


def test_roles_come_from_ldap_groups_beside_the_policy_lists(
    services: Services, slapd: SlapdProcess
) -> None:
    over_ldap(services, slapd.url)
    assert person_roles(services, "securite.demo@mcn.gouv.qc.ca") == {"security"}
    assert person_roles(services, "communications.demo@mcn.gouv.qc.ca") == {"communications"}
    # jean.gestion is only in a group the policy maps to nothing.
    assert person_roles(services, JEAN) == frozenset()
    # The ID token's roles count too.
    assert person_roles(services, JEAN, session_roles=("security",)) == {"security"}
