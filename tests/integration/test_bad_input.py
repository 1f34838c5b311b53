"""Bad input re-renders the form with 400 and a message per field; nothing stored or sent."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client

from tests.conftest import UNLISTED, valid_form
from tests.integration.conftest import (
    file_request,
    hidden,
    html,
    item_counts,
    outbox,
    post_form,
)

pytestmark = pytest.mark.integration

# (case, overrides, field, French message, English message)
CASES: list[tuple[str, dict[str, Any], str, str, str]] = [
    ("missing name", {"name": ""}, "name", "Ce champ est obligatoire", "This field is required"),
    (
        "missing platforms",
        {"platforms": []},
        "platforms",
        "Ce champ est obligatoire",
        "This field is required",
    ),
    (
        "unknown platform",
        {"platforms": ["myspace"]},
        "platforms",
        "Choisissez parmi les options",
        "Choose from the options",
    ),
    (
        "outside domains",
        {"email": "marie@gmail.com"},
        "email",
        "domaine autorisé",
        "allowed domain",
    ),
    (
        "manager is requester",
        {"email": UNLISTED, "manager_email": UNLISTED},
        "manager_email",
        "autre personne que vous",
        "someone other than you",
    ),
    (
        "duration zero",
        {"duration_days": "0"},
        "duration_days",
        "entre 1 et 180",
        "between 1 and 180",
    ),
    (
        "duration too long",
        {"duration_days": "365"},
        "duration_days",
        "entre 1 et 180",
        "between 1 and 180",
    ),
    (
        "short justification",
        {"justification": "Pour le travail."},
        "justification",
        "au moins 40 caractères",
        "at least 40 characters",
    ),
    (
        "policy not accepted",
        {"accept_policy": None},
        "accept_policy",
        "Ce champ est obligatoire",
        "This field is required",
    ),
]


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize(
    ("case", "overrides", "field", "fr", "en"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_field_gives_400_with_its_message_and_changes_nothing(
    client: Client,
    lang: str,
    case: str,
    overrides: dict[str, Any],
    field: str,
    fr: str,
    en: str,
) -> None:
    response = file_request(client, lang=lang, **overrides)
    page = html(response)
    assert response.status_code == 400
    assert f'id="{field}-error"' in page
    assert (fr if lang == "fr" else en) in page
    assert f'<html lang="{lang}">' in page
    # What was typed is kept.
    assert "Marie Tremblay" in page or case == "missing name"
    # A self-approval attempt is refused and audited (the event, and in the main table the
    # audit chain's head and the source's refused-attempt counter, issue 13); no request,
    # link or e-mail is ever stored.
    audited = 1 if case == "manager is requester" else 0
    assert item_counts() == {"sesame-test-main": 2 * audited, "sesame-test-audit": audited}
    assert outbox() == []


def test_an_oversize_body_is_refused_and_nothing_kept(client: Client) -> None:
    page = html(client.http.get("/"))
    form = valid_form(justification="x" * 40_000)
    form["form_token"] = [hidden(page, "form_token")]
    response = post_form(client, "/", form)
    assert response.status_code == 400
    assert "trop volumineux" in html(response)
    assert item_counts() == {"sesame-test-main": 0, "sesame-test-audit": 0}
    assert outbox() == []


@pytest.mark.parametrize("body", [b"name=%ff%fe", b"name=%ED%A0%80", b"a=1&" * 200])
def test_unreadable_bodies_are_refused(client: Client, body: bytes) -> None:
    response = client.http.post(
        "/", headers={"Content-Type": "application/x-www-form-urlencoded"}, body=body
    )
    assert response.status_code == 400
    assert "illisible" in html(response)
    assert outbox() == []


def test_a_missing_or_forged_form_token_keeps_the_values_and_stores_nothing(
    client: Client,
) -> None:
    response = post_form(client, "/", {**valid_form(), "form_token": ["forged.123.abc"]})
    assert response.status_code == 400
    page = html(response)
    assert "Le formulaire a expiré" in page
    assert 'value="marie.tremblay@mcn.gouv.qc.ca"' in page
    assert item_counts() == {"sesame-test-main": 0, "sesame-test-audit": 0}


def test_extra_fields_cannot_set_server_values(client: Client) -> None:
    response = file_request(client, status="approved", version="99", steps="[]")
    assert response.status_code == 200
    from chalicelib.service.context import get_services

    (mail,) = outbox()
    assert "Confirmez" in mail.subject
    reference = html(response).split("<strong>")[1].split("</strong>")[0]
    store = get_services().store
    # The only request filed is waiting for confirmation at version 1.
    found = [
        r
        for r in (store.load_request(i) for i in _request_ids())
        if r is not None and r.reference == reference
    ]
    assert [(r.status.value, r.version) for r in found] == [("pending_confirmation", 1)]


def _request_ids() -> list[str]:
    import boto3

    items = boto3.client("dynamodb").scan(TableName="sesame-test-main")["Items"]
    return [i["PK"]["S"].split("#", 1)[1] for i in items if i["SK"]["S"] == "REQUEST"]


def test_a_double_submission_files_one_request(client: Client) -> None:
    page = html(client.http.get("/"))
    form = {**valid_form(), "form_token": [hidden(page, "form_token")]}
    first = post_form(client, "/", form)
    second = post_form(client, "/", form)
    assert first.status_code == second.status_code == 200
    assert "aucun doublon" in html(second)
    assert len(_request_ids()) == 1
    assert len(outbox()) == 1


def test_a_reused_form_key_with_other_content_files_nothing_new(client: Client) -> None:
    page = html(client.http.get("/"))
    token = hidden(page, "form_token")
    post_form(client, "/", {**valid_form(), "form_token": [token]})
    other = post_form(client, "/", {**valid_form(name="Quelqu'un d'autre"), "form_token": [token]})
    assert other.status_code == 400
    assert "Le formulaire a expiré" in html(other)
    assert len(_request_ids()) == 1
    assert len(outbox()) == 1
