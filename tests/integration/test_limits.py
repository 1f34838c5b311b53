"""Through HTTP, the brakes of issue 13 (items 1-3): what a script from one source address can
no longer do, and what the people behind the same address can still do.

The clock is frozen inside one clock hour (the counters are per hour), and the policy's own
limits (policies/rules.toml) are used unless a test says otherwise."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from chalice.test import Client

from chalicelib.service.context import get_services
from tests.integration.conftest import (
    AUDIT,
    MAIN,
    file_request,
    hidden,
    html,
    item_counts,
    link_with,
    outbox,
    post_form,
    press,
)

pytestmark = pytest.mark.integration
# 14:10 UTC: every attempt of a test falls in the same clock hour.
T0 = datetime(2026, 11, 30, 14, 10, tzinfo=UTC)
SOURCE = "127.0.0.1"  # what Chalice's test client gives as the source IP


@pytest.fixture
def frozen(client: Client) -> Iterator[None]:
    """Freeze the services' clock (a microsecond per reading keeps the audit order)."""
    services = get_services()
    real = services.clock
    ticks = itertools.count()
    services.clock = lambda: T0 + timedelta(microseconds=next(ticks))
    yield
    services.clock = real


def audit_rows() -> list[dict[str, str]]:
    """Every audit event as (action, actor, reason) (test-only Scan)."""
    items = boto3.client("dynamodb").scan(TableName=AUDIT)["Items"]
    return [
        {"action": i["action"]["S"], "actor": i["actor"]["S"], "body": i["body"]["S"]}
        for i in items
    ]


def main_items() -> list[dict[str, object]]:
    """Every item of the main table (test-only Scan): counters included."""
    return boto3.client("dynamodb").scan(TableName=MAIN)["Items"]


def set_limits(**limits: int) -> None:
    services = get_services()
    rules = services.policy.rules
    new_rules = rules.model_copy(update={"limits": rules.limits.model_copy(update=limits)})
    services.policy = services.policy.model_copy(update={"rules": new_rules})


# ----- item 1: someone else's bad links never lock out good links ----------------------------
def test_forty_forged_links_then_a_real_link_from_the_same_address_opens_and_acts(
    client: Client, frozen: None
) -> None:
    limit = get_services().policy.rules.limits.max_invalid_links_per_hour
    file_request(client)
    confirm = link_with(outbox()[0], "confirm")
    request_id, secret = confirm.removeprefix("/confirm/").split(".", 1)
    # Forged: the real request id with other secrets (a scanner's stale or mangled links).
    forged = [f"/confirm/{request_id}.{secret[:-4]}{n:04d}" for n in range(40)]
    answers = []
    for path in forged:
        answers.append(client.http.get(path).status_code)
        if len(answers) == limit + 1:
            after_crossing = (item_counts(), audit_rows())
    assert answers == [404] * (limit + 1) + [429] * (40 - limit - 1)
    # Past the limit the forged links were answered from the read alone: nothing written.
    assert (item_counts(), audit_rows()) == after_crossing
    guesses = [r for r in audit_rows() if "unknown_link" in r["body"]]
    summaries = [r for r in audit_rows() if r["action"] == "link_limit"]
    assert len(guesses) == limit and len(summaries) == 1

    # The requester behind the same address opens the real link and confirms.
    page = client.http.get(confirm)
    assert page.status_code == 200, html(page)
    done = press(client, confirm)
    assert done.status_code == 200
    assert "Demande confirmée" in html(done)
    assert outbox()[0].to == ["jean.gestion@mcn.gouv.qc.ca"]  # the manager was asked
    # And the manager, behind that address too, decides from the decision link.
    decided = press(client, link_with(outbox()[0], "decide"), decision="approve")
    assert decided.status_code == 200
    # A guessed link from that address is still refused, with the 429 page.
    refused = client.http.get(forged[0])
    assert refused.status_code == 429
    assert "Trop de liens invalides" in html(refused)


# ----- item 2: refused anonymous attempts no longer fill the audit chain ---------------------
def test_a_script_repeating_a_refused_form_gets_429_without_writing_and_others_still_file(
    client: Client, frozen: None
) -> None:
    limit = 5  # the policy's is 20: the same brake, in fewer requests
    set_limits(max_refused_attempts_per_hour=limit)
    page = html(client.http.get("/"))
    token = hidden(page, "form_token")  # one form token, replayed (it lasts a day)
    from tests.conftest import UNLISTED, valid_form

    form = valid_form(email=UNLISTED, manager_email=UNLISTED)
    form.update(form_token=[token], lang=["fr"])
    answers = []
    for _ in range(limit + 1):
        answers.append(post_form(client, "/", form).status_code)
    assert answers == [400] * limit + [429]
    refusals = [r for r in audit_rows() if r["action"] == "refused_attempt"]
    assert len([r for r in refusals if "self_approval" in r["body"]]) == limit
    (summary,) = [r for r in refusals if "refused_attempts_limit" in r["body"]]
    assert summary["actor"] == SOURCE

    before = (item_counts(), audit_rows(), main_items())
    for _ in range(10):
        over = post_form(client, "/", form)
        assert over.status_code == 429
    # Over the limit: no write at all (not even the counter), and the person still sees
    # what to correct.
    assert (item_counts(), audit_rows(), main_items()) == before
    text = html(over)
    assert "Trop de tentatives refusées" in text
    assert "autre personne que vous" in text

    # A valid request from the same address is still filed.
    assert file_request(client).status_code == 200
    assert outbox()[0].to == ["marie.tremblay@mcn.gouv.qc.ca"]


# ----- item 3: sign-in e-mails and submissions per source -------------------------------------
def ask_signin(client: Client, email: str, lang: str = "fr") -> tuple[int, str]:
    """Ask /login for a link (through its form); return the status and the page, address out."""
    page = html(client.http.get(f"/login?lang={lang}"))
    form = {"email": email, "form_token": hidden(page, "form_token"), "lang": lang}
    response = post_form(client, "/login", form)
    text = html(response).replace(email, "<address>")
    # The page's fresh form token differs on every page, whoever asks.
    return response.status_code, re.sub(r'name="form_token" value="[^"]*"', "", text)


def mails_to(email: str) -> int:
    return len([m for m in outbox() if m.to == [email]])


def test_one_address_gets_at_most_its_sign_in_emails_and_every_address_the_same_answers(
    client: Client, frozen: None
) -> None:
    limit = get_services().policy.rules.limits.max_signins_per_address_per_hour
    addresses = (
        "securite.demo@mcn.gouv.qc.ca",  # an officer
        "personne.inconnue@mcn.gouv.qc.ca",  # made up, in an allowed domain
        "marie.tremblay@example.com",  # outside the allowed domains
    )
    answers = {email: [ask_signin(client, email) for _ in range(limit + 3)] for email in addresses}
    # The same answers whoever the address: the limit's page after `limit` requests.
    assert answers[addresses[0]] == answers[addresses[1]] == answers[addresses[2]]
    statuses = [status for status, _ in answers[addresses[0]]]
    assert statuses == [200] * limit + [429] * 3
    assert "Trop de liens de connexion" in answers[addresses[0]][-1][1]
    # No e-mail over the limit.
    assert [mails_to(email) for email in addresses] == [limit, limit, 0]
    # English too.
    assert "Too many sign-in links" in ask_signin(client, addresses[0], "en")[1]


def test_one_source_gets_at_most_its_sign_in_emails_whatever_the_addresses(
    client: Client, frozen: None
) -> None:
    limit = 8  # the policy's is 30: the same brake, in fewer requests
    set_limits(max_signins_per_source_per_hour=limit)
    statuses = [ask_signin(client, f"agent{n}@mcn.gouv.qc.ca")[0] for n in range(limit + 3)]
    assert statuses == [200] * limit + [429] * 3
    assert len(outbox()) == limit  # a made-up address each: no more bounces past the limit
    summaries = [r for r in audit_rows() if "signin_source_limit" in r["body"]]
    assert [r["actor"] for r in summaries] == [SOURCE]


def test_one_source_filing_for_many_addresses_is_limited(client: Client, frozen: None) -> None:
    set_limits(max_submissions_per_source_per_hour=3)
    statuses = [
        file_request(client, email=f"agent{n}@mcn.gouv.qc.ca", name=f"Agent {n}").status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 200]
    before = (item_counts(), len(outbox()))
    fourth = file_request(client, email="agent9@mcn.gouv.qc.ca", name="Agent Neuf", lang="en")
    assert fourth.status_code == 429
    assert "Too many requests were filed from your network" in html(fourth)
    assert (item_counts(), len(outbox())) == before
