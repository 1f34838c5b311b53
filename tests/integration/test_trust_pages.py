"""The trust pages through HTTP: the awareness quiz, the usage policy, the open figures
(issue 17, acceptance 1, 3 and 5 at the routes)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import boto3
import jsonschema
import pytest
from chalice.test import Client

from chalicelib.service.acknowledge import has_acknowledged
from chalicelib.service.awareness import has_passed_current
from chalicelib.service.context import get_services
from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import AUDIT, hidden, html, post_form
from tests.integration.people import sign_in

pytestmark = pytest.mark.integration
SCHEMA = json.loads(
    (PROJECT_ROOT / "templates" / "static" / "open-data.schema.json").read_text("utf-8")
)
PERSON = "email:nadia.tremblay@mcn.gouv.qc.ca"
EMAIL = "Nadia.Tremblay@mcn.gouv.qc.ca"


def right_answers() -> dict[str, str]:
    module = get_services().policy.awareness
    assert module is not None
    return {f"q-{q.id}": q.answer for q in module.questions}


def wrong_one(answers: dict[str, str]) -> tuple[dict[str, str], str]:
    """The right answers but one (the first question's), and that question's explanation."""
    module = get_services().policy.awareness
    assert module is not None
    question = module.questions[0]
    other = next(c.id for c in question.choices if c.id != question.answer)
    return {**answers, f"q-{question.id}": other}, question.explanation_fr


def send_quiz(
    client: Client, answers: dict[str, str], lang: str = "fr", cookie: str = "", **extra: str
) -> Any:
    headers = {"Cookie": cookie} if cookie else {}
    page = html(client.http.get(f"/awareness?lang={lang}", headers=headers))
    form = {"form_token": hidden(page, "form_token"), "lang": lang, "email": EMAIL}
    return post_form(client, "/awareness", {**form, **answers, **extra}, **headers)


def audit_actions() -> list[str]:
    items = boto3.client("dynamodb").scan(TableName=AUDIT)["Items"]
    return [item["action"]["S"] for item in items]


def test_the_module_shows_its_screens_and_quiz_in_both_languages(client: Client) -> None:
    module = get_services().policy.awareness
    assert module is not None
    for lang in ("fr", "en"):
        response = client.http.get(f"/awareness?lang={lang}")
        page = html(response)
        assert response.status_code == 200
        for screen in module.screens:
            assert (screen.title_fr if lang == "fr" else screen.title_en) in page
        for question in module.questions:
            assert (question.text_fr if lang == "fr" else question.text_en) in page
        # The reviewed Markdown's bold reaches the page as markup, not as asterisks.
        assert "**" not in page and "<strong>" in page


def test_a_wrong_answer_shows_its_explanation_records_nothing_then_a_pass_is_recorded(
    client: Client,
) -> None:
    answers, explanation = wrong_one(right_answers())
    # One wrong answer out of five passes at 4: two wrong ones fail.
    module = get_services().policy.awareness
    assert module is not None
    second = module.questions[1]
    answers[f"q-{second.id}"] = next(c.id for c in second.choices if c.id != second.answer)
    failed = send_quiz(client, answers)
    page = html(failed)
    assert failed.status_code == 200 and explanation in page
    assert second.explanation_fr in page
    assert not has_passed_current(get_services(), PERSON)
    assert "awareness_passed" not in audit_actions()

    # Signed in (here by the e-mail sign-in link), the pass is the proven person's at once.
    cookie = sign_in(client, EMAIL.lower())
    passed = send_quiz(client, right_answers(), cookie=cookie)
    assert passed.status_code == 200 and "Module réussi" in html(passed)
    assert has_passed_current(get_services(), PERSON)
    assert audit_actions().count("awareness_passed") == 1


def test_without_a_sign_in_a_pass_is_not_recorded_under_the_typed_address(
    client: Client,
) -> None:
    passed = send_quiz(client, right_answers())
    page = html(passed)
    assert passed.status_code == 200 and "Module réussi" in page
    # Typing an address proves nothing: the pass only rides the pages, signed, to a request.
    assert 'id="held-note"' in page and hidden(page, "held_pass")
    assert not has_passed_current(get_services(), PERSON)
    assert "awareness_passed" not in audit_actions()


def test_the_quiz_refuses_an_outside_address_and_a_forged_token(client: Client) -> None:
    outside = send_quiz(client, right_answers(), email="x@example.com")
    assert outside.status_code == 400 and "adresse de l'organisation" in html(outside)
    forged = post_form(
        client, "/awareness", {"form_token": "a.1.b", "email": EMAIL, **right_answers()}
    )
    assert forged.status_code == 400
    assert not has_passed_current(get_services(), PERSON)


def test_the_usage_policy_page_records_one_acknowledgement_per_version(client: Client) -> None:
    version = get_services().policy.version
    cookie = sign_in(client, EMAIL.lower())
    for _ in range(2):
        page = html(client.http.get("/usage-policy?lang=en", headers={"Cookie": cookie}))
        assert version in page and "nadia.tremblay@mcn.gouv.qc.ca" in page.lower()
        done = post_form(
            client,
            "/usage-policy",
            {"form_token": hidden(page, "form_token"), "lang": "en"},
            Cookie=cookie,
        )
        assert done.status_code == 200 and "acknowledgement of policy" in html(done)
    assert has_acknowledged(get_services(), PERSON)
    assert audit_actions().count("policy_acknowledged") == 1


def test_nobody_acknowledges_the_usage_policy_in_someone_elses_name(client: Client) -> None:
    # An acknowledgement keeps a grant through a policy campaign: a typed address (the
    # holder's, sent by someone else) records nothing; the page asks for a sign-in instead.
    page = html(client.http.get("/usage-policy?lang=en"))
    assert 'id="sign-in-first"' in page and "/login?next=/usage-policy" in page
    assert 'name="email"' not in page
    attacker = sign_in(client, "mallory.demo@mcn.gouv.qc.ca")
    signed_page = html(client.http.get("/usage-policy", headers={"Cookie": attacker}))
    form = {"form_token": hidden(signed_page, "form_token"), "email": EMAIL}
    answer = post_form(client, "/usage-policy", form)  # a valid page token, no session
    assert answer.status_code == 403 and "Connectez-vous" in html(answer)
    assert not has_acknowledged(get_services(), PERSON)
    assert "policy_acknowledged" not in audit_actions()
    # Signed in, a typed address is ignored: the acknowledgement is the attacker's own.
    assert post_form(client, "/usage-policy", form, Cookie=attacker).status_code == 200
    assert not has_acknowledged(get_services(), PERSON)
    assert has_acknowledged(get_services(), "email:mallory.demo@mcn.gouv.qc.ca")


def test_the_open_data_files_are_public_aggregates_under_their_licence(client: Client) -> None:
    as_json = client.http.get("/open-data/requests.json")
    assert as_json.status_code == 200
    assert as_json.headers["Content-Type"].startswith("application/json")
    data = json.loads(as_json.body)
    jsonschema.validate(data, SCHEMA)
    assert "CC BY 4.0" in data["licence"] and len(data["months"]) == 12
    as_csv = client.http.get("/open-data/requests.csv")
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    licence, table = as_csv.body.decode("utf-8").split("\n", 1)
    assert "CC BY 4.0" in licence
    rows = list(csv.DictReader(io.StringIO(table)))
    assert len(rows) == 12 and {r["filed"] for r in rows} == {"< 5"}
    assert client.http.get("/open-data/people.json").status_code == 404
    # The schema is published where its $id says, and the served file validates against it.
    served = client.http.get("/open-data/requests.schema.json")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "application/schema+json"
    published = json.loads(served.body)
    assert published["$id"].endswith("/open-data/requests.schema.json")
    jsonschema.validate(data, published)


def test_the_form_offers_the_module_and_every_page_links_the_policy_and_the_figures(
    client: Client,
) -> None:
    # With the gate off (the demo), the form is where people learn that the module exists.
    for lang, offer in (("fr", "Suivre le module"), ("en", "Take the awareness module")):
        page = html(client.http.get(f"/?lang={lang}"))
        assert 'id="awareness-offer"' in page and offer in page
        assert f'href="/awareness?lang={lang}"' in page
        assert client.http.get(f"/awareness?lang={lang}").status_code == 200
        for target in (f"/usage-policy?lang={lang}", "/open-data/requests.csv"):
            assert f'href="{target}"' in page
            assert client.http.get(target).status_code == 200
    # A policy without a module offers none.
    services = get_services()
    services.policy = services.policy.model_copy(update={"awareness": None})
    assert 'id="awareness-offer"' not in html(client.http.get("/"))
