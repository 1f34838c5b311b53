"""In-process moto with the tables and sender of the real template, and Chalice's test client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import urlencode, urlsplit

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from app import app
from chalicelib.adapters.policy_files import load_policy
from chalicelib.dev.outbox import SentEmail, sent_emails
from local_stack.aws_setup import (
    create_digest_anchor,
    create_event_bus,
    create_tables,
    verify_sender,
)
from tests.conftest import PROJECT_ROOT

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
MAIN, AUDIT = "sesame-test-main", "sesame-test-audit"
BUS = "sesame-test-access"


@pytest.fixture
def aws(stage_env: None) -> Iterator[None]:
    """Start in-process moto with both tables and a verified sender."""
    with mock_aws():
        create_tables(boto3.client("dynamodb"), {"main": MAIN, "audit": AUDIT})
        sender = load_policy(PROJECT_ROOT / "policies").organisation.sender
        verify_sender(boto3.client("ses"), sender)
        create_event_bus(boto3.client("events"), boto3.client("logs"), BUS)
        yield


@pytest.fixture
def client(aws: None) -> Iterator[Client]:
    """Chalice's test client on the test stage."""
    with Client(app, stage_name="test", project_dir=str(PROJECT_ROOT)) as test_client:
        yield test_client


@pytest.fixture
def dev_clock_anchor(aws: None) -> None:
    """The local stack's digest key and write-once bucket: /dev/clock writes hourly digests."""
    create_digest_anchor(
        boto3.client("kms"),
        boto3.client("s3"),
        "sesame-test-audit-digests",
        "alias/sesame-test-audit-digest",
        1,
    )


def post_form(client: Client, path: str, form: dict[str, Any], **headers: str) -> Any:
    """POST a url-encoded form."""
    body = urlencode(form, doseq=True)
    return client.http.post(path, headers={**FORM_HEADERS, **headers}, body=body)


def html(response: Any) -> str:
    """Return a response body as text, entities decoded (so apostrophes read as typed)."""
    return unescape(response.body.decode("utf-8"))


def hidden(page: str, name: str) -> str:
    """Read a hidden input's value from a page."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


def path_of(url: str) -> str:
    """Return the path of an absolute link from an e-mail."""
    return urlsplit(url).path


def outbox() -> list[SentEmail]:
    """Every e-mail sent so far, newest first."""
    return sent_emails()


def item_counts() -> dict[str, int]:
    """Count items per table (test-only; the app never scans)."""
    dynamodb = boto3.client("dynamodb")
    return {name: dynamodb.scan(TableName=name, Select="COUNT")["Count"] for name in (MAIN, AUDIT)}


def state_counts() -> dict[str, int]:
    """Count what a state change writes: main-table items, and audit events other than the
    record that a link was opened (a GET audits its reader and changes nothing else)."""
    dynamodb = boto3.client("dynamodb")
    audit = dynamodb.scan(
        TableName=AUDIT,
        Select="COUNT",
        FilterExpression="#action <> :opened",
        ExpressionAttributeNames={"#action": "action"},
        ExpressionAttributeValues={":opened": {"S": "link_opened"}},
    )["Count"]
    return {MAIN: dynamodb.scan(TableName=MAIN, Select="COUNT")["Count"], AUDIT: audit}


def link_with(mail: SentEmail, kind: str) -> str:
    """Return the path of the mail's link of one kind (confirm, decide, status)."""
    for link in mail.links:
        if path_of(link).startswith(f"/{kind}/"):
            return path_of(link)
    raise AssertionError(f"no /{kind}/ link in {mail.subject!r}: {mail.links}")


def file_request(client: Client, lang: str = "fr", **overrides: Any) -> Any:
    """Open the form, then file it with a valid request (fields overridable)."""
    from tests.conftest import valid_form

    page = html(client.http.get(f"/?lang={lang}"))
    form = valid_form(**overrides)
    form["form_token"] = [hidden(page, "form_token")]
    form["lang"] = [lang]
    return post_form(client, "/", form)


def press(client: Client, path: str, **fields: str) -> Any:
    """Open a link page like a person, then press its button (POST with the page's CSRF)."""
    page = html(client.http.get(path))
    return post_form(client, path, {"csrf": hidden(page, "csrf"), **fields})
