"""The grants API's use cases against in-process moto: credentials, rate, ETag, pages, audit.

Requests are filed and approved through HTTP as people do; the API's answers are what a
route will return as they are (status, JSON body, headers).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from html import unescape
from typing import Any

import boto3
import pytest
from chalice.test import Client
from openapi_spec_validator import validate

from chalicelib import aws
from chalicelib.domain.grants_api import GrantsPage, Problem, RequestStatusOut
from chalicelib.service.context import Services, get_services
from chalicelib.service.grants_api import (
    CALLS_PER_MINUTE,
    create_client,
    list_clients,
    list_grants,
    request_status,
    revoke_client,
)
from chalicelib.service.openapi import openapi_document
from chalicelib.store.api_clients import ApiClientStore
from chalicelib.store.audit import AuditFilter
from tests.integration.conftest import MAIN, link_with, outbox, press
from tests.integration.people import get, html_of, post, request_at_security_step, sign_in

pytestmark = pytest.mark.integration
OFFICER = "securite.demo@mcn.gouv.qc.ca"


def basic(client_id: str, secret: str) -> str:
    """The Authorization header of HTTP Basic."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def approved(client: Client, **overrides: Any) -> str:
    """File and approve a request (manager, then officer); return its id."""
    request_id = request_at_security_step(client, **overrides)
    officer_mail = [m for m in outbox() if m.to == [OFFICER]][-1]
    assert press(client, link_with(officer_mail, "decide"), decision="approve").status_code == 200
    return request_id


def frozen(services: Services) -> datetime:
    """Stop the services' clock now (so every call falls in the same minute)."""
    moment = datetime.now(UTC)
    services.clock = lambda: moment
    return moment


@pytest.fixture
def api(client: Client) -> tuple[Services, ApiClientStore, str]:
    """The services, the client store and a credential named "proxy"."""
    services = get_services()
    store = ApiClientStore(aws.dynamodb(), services.settings.main_table)
    made, secret = create_client(services, store, "proxy", OFFICER)
    return services, store, basic(made.client_id, secret)


def test_active_grants_are_listed_with_domains_paged_and_tagged_for_the_whole_set(
    client: Client, api: tuple[Services, ApiClientStore, str]
) -> None:
    services, store, credential = api
    request_id = approved(client)
    first = list_grants(services, store, credential)
    assert first.status == 200
    page = GrantsPage.model_validate(first.body)
    assert {(g.platform, g.person.email) for g in page.grants} == {
        ("linkedin", "marie.tremblay@mcn.gouv.qc.ca"), ("x", "marie.tremblay@mcn.gouv.qc.ca"),
    }  # fmt: skip
    linkedin = next(g for g in page.grants if g.platform == "linkedin")
    assert linkedin.domains == ["linkedin.com", "licdn.com"]
    assert linkedin.reference == request_id[:8].upper() and page.next is None
    assert "justification" not in json.dumps(first.body)
    etag = first.headers["ETag"]

    # Unchanged set: 304 with the same ETag, no body.
    again = list_grants(services, store, credential, if_none_match=etag)
    assert (again.status, again.body, again.headers["ETag"]) == (304, None, etag)
    # Pages of one: the same ETag on each, the cursor leads to the rest, then null.
    one = list_grants(services, store, credential, limit=1)
    assert one.body is not None and one.headers["ETag"] == etag
    cursor = one.body["next"]
    assert isinstance(cursor, str)
    two = list_grants(services, store, credential, limit=1, cursor=cursor)
    assert two.body is not None and two.body["next"] is None and two.headers["ETag"] == etag
    listed = [g["platform"] for g in one.body["grants"] + two.body["grants"]]
    assert sorted(listed) == ["linkedin", "x"]
    # A forged cursor is a 400 problem, not a 500.
    bad = list_grants(services, store, credential, cursor="not-a-cursor")
    assert bad.status == 400 and Problem.model_validate(bad.body).status == 400

    # The officer revokes: the set changes, so does the ETag, and the old one gets a full page.
    cookie = sign_in(client, OFFICER)
    page_html = get(client, f"/console/requests/{request_id}", cookie)
    form = {"reason": "Fin du mandat."}
    post(client, f"/console/requests/{request_id}/revoke", cookie, form, page_html)
    after = list_grants(services, store, credential, if_none_match=etag)
    assert after.status == 200 and after.headers["ETag"] != etag
    assert after.body == {"grants": [], "next": None}


def test_a_missing_wrong_or_revoked_credential_gets_401_and_each_call_is_audited(
    client: Client, api: tuple[Services, ApiClientStore, str]
) -> None:
    services, store, credential = api
    (made,) = list_clients(store)
    wrong = basic(made.client_id, "not-the-secret")
    unknown = basic("nobody-00000000", "x")
    for header in (None, "", "Bearer abc", "Basic !!!", wrong, unknown, "Basic " + "A" * 600):
        answer = list_grants(services, store, header)
        assert answer.status == 401, header
        assert answer.headers["WWW-Authenticate"] == 'Basic realm="sesame-grants"'
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.body == {"type": "about:blank", "title": "Unauthorized", "status": 401}
    assert list_grants(services, store, credential).status == 200
    reads = list(services.store.audit.all_matching(AuditFilter(action="api_read")))
    assert [r.event.actor for r in reads] == [f"api:{made.client_id}"]
    assert reads[0].event.via == "api"

    assert revoke_client(services, store, made.client_id, OFFICER)
    assert not revoke_client(services, store, made.client_id, OFFICER)
    assert list_grants(services, store, credential).status == 401
    assert request_status(services, store, credential, "abcdefgh").status == 401
    actions = {
        e.event.action for e in services.store.audit.all_matching(AuditFilter(actor=OFFICER))
    }
    assert {"api_client_created", "api_client_revoked"} <= actions


def test_only_the_secret_s_hash_is_stored(api: tuple[Services, ApiClientStore, str]) -> None:
    _, _, credential = api
    secret = base64.b64decode(credential.split()[1]).decode().split(":", 1)[1]
    items = boto3.client("dynamodb").scan(TableName=MAIN)["Items"]
    assert secret not in json.dumps(items)
    assert any("APICLIENTS" in json.dumps(i) for i in items)


def test_a_client_over_its_rate_gets_429_with_retry_after(
    client: Client, api: tuple[Services, ApiClientStore, str]
) -> None:
    services, store, credential = api
    frozen(services)
    answers = [list_grants(services, store, credential).status for _ in range(CALLS_PER_MINUTE)]
    assert answers == [200] * CALLS_PER_MINUTE
    over = list_grants(services, store, credential)
    assert over.status == 429 and over.headers["Retry-After"] == "60"
    assert Problem.model_validate(over.body).title == "Too Many Requests"
    # Another client keeps its own rate.
    other, secret = create_client(services, store, "second proxy", OFFICER)
    assert list_grants(services, store, basic(other.client_id, secret)).status == 200


def test_request_status_gives_steps_and_no_free_text(
    client: Client, api: tuple[Services, ApiClientStore, str]
) -> None:
    services, store, credential = api
    request_id = approved(client, justification="Texte confidentiel de justification " * 3)
    answer = request_status(services, store, credential, request_id[:8].upper())
    assert answer.status == 200
    # Looked up by the reference people quote, in either case; the full id is not a reference.
    assert request_status(services, store, credential, request_id[:8]).status == 200
    assert request_status(services, store, credential, request_id).status == 404
    status = RequestStatusOut.model_validate(answer.body)
    assert status.status == "approved" and [s.status for s in status.steps] == [
        "approved", "approved",
    ]  # fmt: skip
    assert "confidentiel" not in json.dumps(answer.body)
    assert request_status(services, store, credential, "zzzzzzzz").status == 404
    assert request_status(services, store, credential, "../../etc").status == 404
    # The read shows in the request's timeline, named as the API's (not as a person's).
    timeline = get(client, f"/console/requests/{request_id}", sign_in(client, OFFICER))
    assert timeline.status_code == 200
    shown = unescape(html_of(timeline))
    assert "Lecture par l'API des accès" in shown
    assert "API des accès (client machine)" in shown


def test_the_openapi_document_validates_and_describes_what_the_api_answers() -> None:
    document = openapi_document()
    validate(document)  # OpenAPI 3.1 (openapi-spec-validator picks the version's schema)
    assert document["openapi"].startswith("3.1")
    schemas = document["components"]["schemas"]
    assert set(GrantsPage.model_json_schema()["properties"]) == set(
        schemas["GrantsPage"]["properties"]
    )
    for path in document["paths"].values():
        operation = path["get"]
        assert "401" in operation["responses"] and "429" in operation["responses"]
    assert document["security"] == [{"basic": []}]


def test_the_operator_command_prints_a_credential_that_works(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    from local_stack.api_credential import main as api_credential

    assert api_credential(["--name", "proxy"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == ["client_id", "client_secret"]
    client_id, secret = (line.split("=", 1)[1] for line in lines)
    services = get_services()
    store = ApiClientStore(aws.dynamodb(), services.settings.main_table)
    assert list_grants(services, store, basic(client_id, secret)).status == 200
    assert api_credential(["--name", "no/slash"]) == 2
