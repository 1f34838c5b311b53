"""The console's integrity page: an officer sees the log checked against its signed digests,
in French or English, writes a digest on demand (audited), and a request changed in the
table behind the app's back is named on the page."""

from __future__ import annotations

import json

import boto3
import pytest
from chalice.test import Client

from chalicelib.service.context import get_services
from chalicelib.store import keys
from chalicelib.store.audit import AuditFilter
from local_stack.aws_setup import create_digest_anchor
from tests.integration.conftest import MAIN, html, post_form
from tests.integration.people import (
    OFFICER,
    REQUESTER,
    get,
    post,
    request_at_security_step,
    sign_in,
)

pytestmark = pytest.mark.integration

VERIFY, DIGEST = "/console/audit/verify", "/console/audit/digest"


@pytest.fixture
def anchored(client: Client) -> Client:
    """The test stage's digest key and write-once bucket exist, as the template makes them."""
    create_digest_anchor(
        boto3.client("kms"),
        boto3.client("s3"),
        "sesame-test-audit-digests",
        "alias/sesame-test-audit-digest",
        1,
    )
    return client


def digest_events() -> list[tuple[str, str | None]]:
    log = get_services().store.audit
    wanted = AuditFilter(action="digest_requested")
    return [(e.event.actor, e.event.comment) for e in log.all_matching(wanted)]


def test_an_officer_writes_a_digest_and_the_page_counts_it(anchored: Client) -> None:
    cookie = sign_in(anchored, OFFICER)
    before = get(anchored, VERIFY, cookie)
    assert before.status_code == 200
    assert "événements, aucune empreinte signée pour l'instant" in html(before)
    assert "Écrire une empreinte maintenant" in html(before)

    # Without the session's form token, nothing is written and nothing audited.
    forged = post_form(anchored, DIGEST, {"csrf": "x"}, Cookie=cookie)
    assert forged.status_code == 403
    assert digest_events() == []

    written = post(anchored, DIGEST, cookie, {}, before)
    assert written.status_code in (302, 303)
    assert written.headers["Location"].endswith(f"{VERIFY}?done=written")
    after = html(get(anchored, VERIFY + "?done=written", cookie))
    assert "L'empreinte est écrite" in after
    assert ", 1 empreintes signées, la dernière le " in after and "jamais" not in after
    assert digest_events() == [(OFFICER, "written")]

    english = html(get(anchored, VERIFY + "?lang=en", cookie))
    assert "Intact: " in english and ", 1 signed digests, the last at " in english
    assert "Write a digest now" in english


def test_someone_without_the_officer_role_can_neither_see_nor_write(anchored: Client) -> None:
    cookie = sign_in(anchored, REQUESTER)
    assert get(anchored, VERIFY, cookie).status_code == 403
    page = get(anchored, "/me", cookie)
    refused = post(anchored, DIGEST, cookie, {}, page)
    assert refused.status_code == 403
    assert digest_events() == []


def test_a_request_changed_behind_the_apps_back_is_named_on_the_page(anchored: Client) -> None:
    request_id = request_at_security_step(anchored)
    cookie = sign_in(anchored, OFFICER)
    post(anchored, DIGEST, cookie, {}, get(anchored, VERIFY, cookie))
    dynamodb = boto3.client("dynamodb")
    item = dynamodb.get_item(TableName=MAIN, Key=keys.request_key(request_id))
    body = json.loads(item["Item"]["body"]["S"])
    body["status"] = "approved"  # a database administrator approves it by hand
    dynamodb.update_item(
        TableName=MAIN,
        Key=keys.request_key(request_id),
        UpdateExpression="SET body = :b",
        ExpressionAttributeValues={":b": {"S": json.dumps(body)}},
    )
    reference = request_id[:8].upper()
    french = html(get(anchored, VERIFY, cookie))
    assert f"La demande {reference} diffère de son dernier événement" in french
    assert "Intègre" not in french
    english = html(get(anchored, VERIFY + "?lang=en", cookie))
    assert f"Request {reference} differs from its last event" in english
