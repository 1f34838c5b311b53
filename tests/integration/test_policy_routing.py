"""Requests follow the chain of the policy; the form previews it, with and without script."""

from __future__ import annotations

import json

import boto3
import pytest
from chalice.test import Client

from chalicelib.service.context import get_services
from tests.conftest import valid_form
from tests.integration.conftest import (
    MAIN,
    file_request,
    hidden,
    html,
    link_with,
    outbox,
    post_form,
    press,
)

pytestmark = pytest.mark.integration
COMMUNICATIONS = ("communications.demo@mcn.gouv.qc.ca", "porte-parole.demo@mcn.gouv.qc.ca")
OFFICERS = ("rssi.demo@mcn.gouv.qc.ca", "securite.demo@mcn.gouv.qc.ca")
PUBLISH_JUSTIFICATION = (
    "Je publie au nom du ministère sur le compte officiel LinkedIn : annonces des programmes, "
    "réponses aux questions des citoyens."
)


def newest_to(address: str) -> str:
    mail = next(m for m in outbox() if address in m.to)
    return link_with(mail, "decide")


def test_a_publish_request_goes_manager_then_communications_then_security(client: Client) -> None:
    response = file_request(client, level="publish", justification=PUBLISH_JUSTIFICATION)
    assert response.status_code == 200, html(response)
    press(client, link_with(outbox()[0], "confirm"))
    press(client, newest_to("jean.gestion@mcn.gouv.qc.ca"), decision="approve")
    asked = {m.to[0] for m in outbox()[:2]}
    assert asked == set(COMMUNICATIONS)
    assert "Direction des communications" in outbox()[0].text
    press(client, newest_to(COMMUNICATIONS[1]), decision="approve")
    assert {m.to[0] for m in outbox()[:2]} == set(OFFICERS)
    press(client, newest_to(OFFICERS[0]), decision="approve")
    assert "est approuvé" in outbox()[0].subject

    # The audit log names the chain and the policy version under which it was filed.
    request_id = _only_request_id()
    events = get_services().store.events_for(request_id)
    submitted = events[0]
    assert submitted.action == "submitted"
    assert submitted.reason == "policy 2026-11-01; chain manager > communications > security"
    assert [e.action for e in events if e.action != "link_opened"] == [
        "submitted",
        "confirmed",
        "approved",
        "approved",
        "approved",
    ]
    stored = get_services().store.load_request(request_id)
    assert stored is not None
    assert stored.chain == ("manager", "communications", "security")
    assert stored.content.policy_version == "2026-11-01"


def _only_request_id() -> str:
    items = boto3.client("dynamodb").scan(TableName=MAIN)["Items"]
    (request_id,) = [i["PK"]["S"].split("#", 1)[1] for i in items if i["SK"]["S"] == "REQUEST"]
    return request_id


def test_a_read_request_goes_manager_then_security(client: Client) -> None:
    file_request(client)
    press(client, link_with(outbox()[0], "confirm"))
    press(client, newest_to("jean.gestion@mcn.gouv.qc.ca"), decision="approve")
    assert {m.to[0] for m in outbox()[:2]} == set(OFFICERS)


def test_the_preview_button_shows_the_chain_without_script(client: Client) -> None:
    page = html(client.http.get("/"))
    assert "Choisissez les plateformes et le niveau" in page
    form = {**valid_form(level="publish"), "action": ["preview"]}
    form["form_token"] = [hidden(page, "form_token")]
    preview = post_form(client, "/", form)
    text = html(preview)
    assert preview.status_code == 200
    assert "Gestionnaire (jean.gestion@mcn.gouv.qc.ca)" in text
    assert "Direction des communications" in text
    assert "Durée maximale : 90 jours" in text
    assert outbox() == []  # a preview files nothing


def test_the_preview_json_follows_the_selection_and_language(client: Client) -> None:
    high = json.loads(client.http.get("/preview.json?platforms=tiktok&level=read&lang=en").body)
    assert high["steps"] == ["Manager", "Information security"]
    assert high["max_duration_days"] == 30
    assert "at least 100 characters" in high["note"]
    none = json.loads(client.http.get("/preview.json").body)
    assert none["steps"] == [] and none["max_duration_days"] is None


def test_a_directory_pins_the_manager_and_the_form_shows_it(client: Client) -> None:
    page = html(client.http.get("/"))
    form = {
        **valid_form(email="camille.demo@mcn.gouv.qc.ca", manager_email="autre@mcn.gouv.qc.ca"),
        "action": ["preview"],
        "form_token": [hidden(page, "form_token")],
    }
    preview = html(post_form(client, "/", form))
    assert "direction.demo@mcn.gouv.qc.ca (selon l'annuaire de l'organisation)" in preview
    del form["action"]
    post_form(client, "/", form)
    press(client, link_with(outbox()[0], "confirm"))
    assert outbox()[0].to == ["direction.demo@mcn.gouv.qc.ca"]


def test_a_policy_change_does_not_reroute_a_filed_request(client: Client) -> None:
    # Given a publish request filed under the shipped policy
    file_request(client, level="publish", justification=PUBLISH_JUSTIFICATION)
    press(client, link_with(outbox()[0], "confirm"))
    # When the policy changes: publishing no longer needs communications, and the group changes
    services = get_services()
    rules = services.policy.rules
    routes = tuple(
        r.model_copy(update={"chain": ("manager", "security")}) if r.level == "publish" else r
        for r in rules.routes
    )
    group = rules.groups[0].model_copy(update={"members": ("nouveau@mcn.gouv.qc.ca",)})
    services.policy = services.policy.model_copy(
        update={"rules": rules.model_copy(update={"routes": routes, "groups": (group,)})}
    )
    # Then the filed request still goes to the communications members it was routed to
    press(client, newest_to("jean.gestion@mcn.gouv.qc.ca"), decision="approve")
    assert {m.to[0] for m in outbox()[:2]} == set(COMMUNICATIONS)
