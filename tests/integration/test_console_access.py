"""Who reaches the console: signed out -> the sign-in page; an employee -> 403 and no data;
an officer -> every page."""

from __future__ import annotations

import boto3
import pytest
from chalice.test import Client

from local_stack.aws_setup import create_digest_anchor
from tests.integration.conftest import html, post_form
from tests.integration.people import OFFICER, REQUESTER, get, request_at_security_step, sign_in

pytestmark = pytest.mark.integration

JUSTIFICATION = "Je fais la veille de ce qui se dit sur le programme Accès numérique"


def console_urls(request_id: str) -> tuple[list[str], list[str]]:
    """Every console page (GET) and action (POST)."""
    pages = [
        "/console",
        "/console/requests",
        "/console/requests?status=approved&platform=x",
        f"/console/requests/{request_id}",
        "/console/grants",
        "/console/grants.csv",
        "/console/grants.json",
        "/console/dashboard",
        "/console/audit",
        f"/console/audit?request={request_id}",
        "/console/audit.csv",
        "/console/audit.json",
        "/console/audit/verify",
    ]
    actions = [
        f"/console/requests/{request_id}/decide",
        f"/console/requests/{request_id}/revoke",
        "/console/audit/digest",
    ]
    return pages, actions


def test_a_signed_out_visitor_is_sent_to_sign_in(client: Client) -> None:
    request_id = request_at_security_step(client)
    pages, actions = console_urls(request_id)
    for path in pages:
        response = client.http.get(path)
        assert response.status_code == 303, path
        location = response.headers["Location"]
        assert location.startswith("/login?next=%2Fconsole"), (path, location)
    for path in actions:
        response = post_form(client, path, {"decision": "approve", "step": "1"})
        assert response.status_code == 303, path
        assert response.headers["Location"] == "/login"
    assert client.http.get("/me").headers["Location"] == "/login?next=%2Fme"


def test_an_employee_gets_403_on_every_console_url_and_no_data(client: Client) -> None:
    request_id = request_at_security_step(client)
    cookie = sign_in(client, REQUESTER)  # the requester: signed in, but not an officer
    pages, actions = console_urls(request_id)
    csrf_page = html(get(client, "/me", cookie))
    from tests.integration.conftest import hidden

    csrf = hidden(csrf_page, "csrf")
    responses = [(path, get(client, path, cookie)) for path in pages]
    responses += [
        (
            path,
            post_form(
                client,
                path,
                {"csrf": csrf, "decision": "approve", "step": "1", "reason": "x"},
                Cookie=cookie,
            ),
        )
        for path in actions
    ]
    for path, response in responses:
        assert response.status_code == 403, path
        body = html(response)
        assert "Accès réservé" in body, path
        for secret in (JUSTIFICATION, request_id, request_id[:8].upper(), "jean.gestion", "sha"):
            assert secret not in body, (path, secret)
        assert "Content-Disposition" not in response.headers


def test_an_officer_reaches_every_console_page(client: Client) -> None:
    # The integrity page checks the log against the digests: their key and bucket exist.
    create_digest_anchor(
        boto3.client("kms"),
        boto3.client("s3"),
        "sesame-test-audit-digests",
        "alias/sesame-test-audit-digest",
        1,
    )
    request_id = request_at_security_step(client)
    cookie = sign_in(client, OFFICER)
    pages, _ = console_urls(request_id)
    for path in pages:
        response = get(client, path, cookie)
        assert response.status_code == 200, (path, html(response)[:3000])
