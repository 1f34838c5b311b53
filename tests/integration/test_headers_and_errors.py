"""Security headers on every response; the dev outbox only locally; no traceback ever."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from chalice.test import Client

from app import app
from chalicelib.service.context import reset_services
from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import file_request, html, link_with, outbox

pytestmark = pytest.mark.integration


def assert_security_headers(headers: dict[str, str]) -> None:
    csp = headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "charset=utf-8" in headers["Content-Type"]


def test_every_kind_of_page_carries_the_headers(client: Client) -> None:
    file_request(client)
    mail = outbox()[0]
    paths = [
        "/",
        "/?lang=en",
        link_with(mail, "confirm"),
        link_with(mail, "status"),
        "/decide/" + "A" * 43,
        "/dev/outbox",
        "/dev/outbox.json",
        "/static/site.css",
    ]
    for path in paths:
        response = client.http.get(path)
        assert_security_headers(response.headers)
        assert response.status_code in (200, 404), path


def test_the_stylesheet_is_cached_and_pages_are_not(client: Client) -> None:
    sheet = client.http.get("/static/site.css")
    assert sheet.headers["Cache-Control"] == "public, max-age=3600"
    assert sheet.headers["Content-Type"] == "text/css; charset=utf-8"
    assert client.http.get("/").headers["Cache-Control"] == "no-store"
    assert client.http.get("/static/other.css").status_code == 404


def test_token_pages_are_never_cached_nor_leak_referrers(client: Client) -> None:
    file_request(client)
    response = client.http.get(link_with(outbox()[0], "confirm"))
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "http://" not in html(response).split("<main")[1].split("</main>")[0]


def test_the_outbox_lists_mail_newest_first_with_links(client: Client) -> None:
    import json

    file_request(client)
    data = json.loads(client.http.get("/dev/outbox.json").body)
    assert [sorted(e) for e in data] == [["html", "links", "subject", "text", "time", "to"]]
    assert data[0]["to"] == ["marie.tremblay@mcn.gouv.qc.ca"]
    assert any("/confirm/" in link for link in data[0]["links"])
    page = html(client.http.get("/dev/outbox"))
    assert f'href="{data[0]["links"][0]}"' in page


@pytest.fixture
def prod_client(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    monkeypatch.setenv("SESAME_STAGE", "prod")
    # A deployed stage reads its secret from SSM only (an environment secret is refused).
    monkeypatch.delenv("SESAME_SIGNING_SECRET", raising=False)
    boto3.client("ssm", region_name="ca-central-1").put_parameter(
        Name="/sesame/prod/signing-secret", Value="prod-secret-" + "y" * 40, Type="SecureString"
    )
    monkeypatch.setenv("SESAME_SIGNING_SECRET_PARAMETER", "/sesame/prod/signing-secret")
    reset_services()
    with Client(app, stage_name="test", project_dir=str(PROJECT_ROOT)) as test_client:
        yield test_client


def test_outside_the_local_stage_the_outbox_does_not_exist(prod_client: Client) -> None:
    for path in ("/dev/outbox", "/dev/outbox.json"):
        response = prod_client.http.get(path)
        assert response.status_code == 404
        assert "@" not in html(response)
    assert "Strict-Transport-Security" in prod_client.http.get("/").headers


def test_an_unexpected_error_shows_a_correlation_id_not_a_traceback(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store.requests import RequestStore

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("secret internal detail in /var/task/chalicelib")

    monkeypatch.setattr(RequestStore, "read_for_link", broken)
    response = client.http.get("/status/" + "A" * 43)
    assert response.status_code == 500
    page = html(response)
    assert "Erreur interne" in page
    assert "Traceback" not in page and "secret internal detail" not in page
    assert "chalicelib" not in page
