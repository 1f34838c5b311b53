"""A manager the directory cannot vouch for, as approvers see it (issue 15, acceptance 5).

Over HTTP on the test stage (the TOML directory of policies/, where Luc is unknown): the
typed manager is marked "not verified by the directory" on the approver's link page and on the
officers' request page, in both languages; with `require_directory_manager` the form refuses
the request with a clear message in both languages and files nothing.
"""

from __future__ import annotations

import logging

import pytest
from chalice.test import Client

from chalicelib.service.context import get_services
from chalicelib.service.directory_lookup import LOCAL_PASSWORD_VARIABLE
from local_stack.ldap_process import SERVICE_PASSWORD, SlapdProcess
from tests.conftest import UNLISTED
from tests.integration.conftest import file_request, html, item_counts, link_with, outbox, press
from tests.integration.identity.conftest import over_ldap, with_directory
from tests.integration.people import get, request_id_of, sign_in

pytestmark = pytest.mark.integration
NOT_VERIFIED_FR = "Gestionnaire saisi par le demandeur, non vérifié par l'annuaire"
NOT_VERIFIED_EN = "Manager typed by the requester, not verified by the directory"
OFFICER = "securite.demo@mcn.gouv.qc.ca"
JEAN = "jean.gestion@mcn.gouv.qc.ca"
# His entry in the seeded slapd names a manager at gestion@prestataire.example.com.
LUC = "luc.contractuel@mcn.gouv.qc.ca"
OUTSIDE_MANAGER = "gestion@prestataire.example.com"


def test_a_typed_manager_shows_as_not_verified_to_every_approver(client: Client) -> None:
    assert file_request(client, email=UNLISTED).status_code == 200
    confirmation = outbox()[0]
    press(client, link_with(confirmation, "confirm"))
    decide = link_with(outbox()[0], "decide")
    assert NOT_VERIFIED_FR in html(client.http.get(decide))
    assert NOT_VERIFIED_EN in html(client.http.get(decide + "?lang=en"))
    # The officers see it on the request's page in the console too.
    request_id = request_id_of(client, link_with(confirmation, "status"))
    cookie = sign_in(client, OFFICER)
    assert NOT_VERIFIED_FR in html(get(client, f"/console/requests/{request_id}", cookie))


def test_a_manager_from_the_directory_carries_no_such_mark(client: Client) -> None:
    # camille.demo is in the TOML directory: her manager is the directory's, not the typed one.
    file_request(client, email="camille.demo@mcn.gouv.qc.ca")
    press(client, link_with(outbox()[0], "confirm"))
    decide = link_with(outbox()[0], "decide")
    assert NOT_VERIFIED_FR not in html(client.http.get(decide))


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("fr", "L'annuaire de l'organisation ne vous connaît pas"),
        ("en", "The organisation's directory does not know you"),
    ],
)
def test_require_directory_manager_refuses_the_form_in_both_languages(
    client: Client, lang: str, message: str
) -> None:
    with_directory(get_services(), require_directory_manager=True)
    before = item_counts()
    answer = file_request(client, lang=lang, email=UNLISTED)
    assert answer.status_code == 400
    assert message in html(answer)
    assert item_counts() == before and outbox() == []


# --- a directory manager outside the allowed domains (the real slapd) ------------------------


@pytest.fixture
def ldap_directory(slapd: SlapdProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app reads people from the seeded slapd (its service account's demo password)."""
    monkeypatch.setenv(LOCAL_PASSWORD_VARIABLE, SERVICE_PASSWORD)


def test_a_directory_manager_outside_the_allowed_domains_gets_no_link(
    client: Client, slapd: SlapdProcess, ldap_directory: None, caplog: pytest.LogCaptureFixture
) -> None:
    over_ldap(get_services(), slapd.url)
    with caplog.at_level(logging.WARNING, logger="chalicelib.service.directory_lookup"):
        assert file_request(client, email=LUC, manager_email=JEAN).status_code == 200
    # The operator is told which entry to correct.
    assert f"directory manager of {LUC} is outside the allowed domains" in caplog.text
    assert "@prestataire.example.com" in caplog.text
    press(client, link_with(outbox()[0], "confirm"))
    approval = outbox()[0]
    # The typed manager decides, marked not verified; the outside address receives nothing.
    assert approval.to == [JEAN]
    assert NOT_VERIFIED_FR in html(client.http.get(link_with(approval, "decide")))
    assert all(OUTSIDE_MANAGER not in mail.to for mail in outbox())


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("fr", "a une adresse hors des domaines autorisés"),
        ("en", "has an address outside the allowed domains"),
    ],
)
def test_a_directory_manager_outside_the_domains_is_refused_when_required(
    client: Client, slapd: SlapdProcess, ldap_directory: None, lang: str, message: str
) -> None:
    over_ldap(get_services(), slapd.url, require_directory_manager=True)
    before = item_counts()
    answer = file_request(client, lang=lang, email=LUC, manager_email=JEAN)
    assert answer.status_code == 400
    assert message in html(answer)
    assert item_counts() == before and outbox() == []
