"""The grants API over HTTP, as the proxy's helper calls it: JSON only, HTTP Basic every time.

Requests are filed and approved through HTTP as people do; the machine then reads through
`chalice.test.Client`, so the middleware (security headers) and the routing are exercised.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client
from openapi_spec_validator import validate

from chalicelib.domain.grants_api import GrantsPage, Problem, RequestStatusOut
from chalicelib.service.context import Services, get_services
from chalicelib.service.grants_api import CALLS_PER_MINUTE, client_store, create_client
from chalicelib.service.openapi import openapi_document
from chalicelib.store.audit import AuditFilter
from tests.integration.test_grants_api import OFFICER, approved, basic, frozen

pytestmark = pytest.mark.integration
GRANTS = "/api/v1/grants"


def call(client: Client, path: str, credential: str | None = None, **headers: str) -> Any:
    """GET a path of the API with an optional Authorization header."""
    if credential is not None:
        headers["Authorization"] = credential
    return client.http.get(path, headers=headers)


def credential_for(services: Services, name: str = "proxy") -> tuple[str, str]:
    """Create a client like `make api-credential`; return its id and Authorization header."""
    made, secret = create_client(services, client_store(services), name, OFFICER)
    return made.client_id, basic(made.client_id, secret)


def problem_of(response: Any, status: int) -> Problem:
    """Assert a response is a JSON problem with that status, with the security headers."""
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert b"<html" not in response.body.lower()
    found = Problem.model_validate_json(response.body)
    assert found.status == status
    return found


def test_the_api_refuses_a_missing_wrong_or_revoked_credential_with_json_401(
    client: Client,
) -> None:
    services = get_services()
    client_id, credential = credential_for(services)
    wrong = basic(client_id, "not-the-secret")
    for header in (None, "", "Bearer abc", wrong, basic("nobody-00000000", "x")):
        for path in (GRANTS, "/api/v1/requests/ABCDEFGH"):
            refused = call(client, path, header)
            problem_of(refused, 401)
            assert refused.headers["WWW-Authenticate"] == 'Basic realm="sesame-grants"'
    assert call(client, GRANTS, credential).status_code == 200

    from chalicelib.service.grants_api import revoke_client

    assert revoke_client(services, client_store(services), client_id, OFFICER)
    problem_of(call(client, GRANTS, credential), 401)


def test_the_helper_reads_the_active_grants_then_304_until_the_set_changes(
    client: Client,
) -> None:
    services = get_services()
    client_id, credential = credential_for(services)
    request_id = approved(client)
    first = call(client, GRANTS, credential)
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["Cache-Control"] == "no-store"
    page = GrantsPage.model_validate_json(first.body)
    assert {g.platform for g in page.grants} == {"linkedin", "x"}
    assert {g.reference for g in page.grants} == {request_id[:8].upper()}
    # Filed signed out: the address is all the API knows of the person (no issuer, no subject).
    assert {(g.person.issuer, g.person.subject) for g in page.grants} == {(None, None)}
    etag = first.headers["ETag"]
    again = call(client, GRANTS, credential, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.body == b"" and again.headers["ETag"] == etag
    problem_of(call(client, f"{GRANTS}?cursor=forged", credential), 400)
    # Each answered read is audited with the client that made it (the page, then the 304).
    reads = list(services.store.audit.all_matching(AuditFilter(action="api_read")))
    assert len(reads) == 2 and {r.event.actor for r in reads} == {f"api:{client_id}"}


def test_a_request_is_read_by_its_reference_without_its_justification(client: Client) -> None:
    services = get_services()
    _, credential = credential_for(services)
    request_id = approved(client, justification="Texte confidentiel de justification " * 3)
    found = call(client, f"/api/v1/requests/{request_id[:8].upper()}", credential)
    assert found.status_code == 200
    status = RequestStatusOut.model_validate_json(found.body)
    assert (status.request_id, status.status) == (request_id, "approved")
    assert b"confidentiel" not in found.body
    problem_of(call(client, "/api/v1/requests/ZZZZZZZZ", credential), 404)
    problem_of(call(client, f"/api/v1/requests/{request_id}", credential), 404)


def test_a_client_over_its_rate_gets_429_over_http(client: Client) -> None:
    services = get_services()
    frozen(services)
    _, credential = credential_for(services)
    statuses = [call(client, GRANTS, credential).status_code for _ in range(CALLS_PER_MINUTE)]
    assert statuses == [200] * CALLS_PER_MINUTE
    over = call(client, GRANTS, credential)
    problem_of(over, 429)
    assert over.headers["Retry-After"] == "60"
    # Another client keeps its own rate.
    _, other = credential_for(services, "second proxy")
    assert call(client, GRANTS, other).status_code == 200


def test_the_openapi_document_is_served_and_validates(client: Client) -> None:
    served = call(client, "/api/v1/openapi.json")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "application/json"
    document = json.loads(served.body)
    validate(document)
    assert document == json.loads(json.dumps(openapi_document()))
    assert set(document["paths"]) == {GRANTS, "/api/v1/requests/{reference}"}
