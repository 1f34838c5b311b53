"""No usable link token at rest (issue 13, item 8): after a whole journey and a failed delivery,
no item of either table holds a string that opens a link; a resend carries the same link."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from chalice.test import Client

from chalicelib import aws
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.service.context import get_services
from chalicelib.service.links import token_hash
from tests.integration.conftest import AUDIT, MAIN, file_request, link_with, outbox, press
from tests.integration.people import OFFICER, REQUESTER, sign_in
from tests.integration.test_outbox import sweep

pytestmark = pytest.mark.integration

# Anything shaped like the secret part of a link (43 URL-safe characters), with or without
# the request id in front.
TOKEN_LIKE = re.compile(r"(?:[a-z0-9]{8,40}\.)?[A-Za-z0-9_-]{43}")


def strings_in(value: Any) -> list[str]:
    """Every string inside a DynamoDB item (attribute values, nested maps and lists)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def every_string_at_rest() -> list[str]:
    """Scan both tables (test only) and return every string they hold."""
    dynamodb = boto3.client("dynamodb")
    found: list[str] = []
    for table in (MAIN, AUDIT):
        kwargs: dict[str, Any] = {"TableName": table}
        while True:
            page = dynamodb.scan(**kwargs)
            found.extend(s for item in page["Items"] for s in strings_in(item))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return found


def opens_a_link(candidate: str) -> bool:
    """Tell whether a string, used as a link token, names a stored link (e-mail or sign-in)."""
    store, digest = get_services().store, token_hash(candidate)
    return store.load_link(digest) is not None or (
        store.sessions.load_signin_link(digest) is not None
    )


def test_after_a_whole_journey_and_a_failed_delivery_no_item_holds_a_usable_token(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Submit, confirm, manager, officer: the request is granted, every e-mail sent.
    file_request(client)
    confirmation = outbox()[0]
    assert press(client, link_with(confirmation, "confirm")).status_code == 200
    assert press(client, link_with(outbox()[0], "decide"), decision="approve").status_code == 200
    officer_mail = next(m for m in outbox() if m.to == [OFFICER])
    granted = press(client, link_with(officer_mail, "decide"), decision="approve")
    assert granted.status_code == 200
    # A second request whose e-mails SES refuses for good: its entries stay, failed.
    real = aws.ses().send_raw_email

    def rejected(**kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "MessageRejected"}}, "SendRawEmail")

    monkeypatch.setattr(aws.ses(), "send_raw_email", rejected)
    assert file_request(client, email="absent@mcn.gouv.qc.ca").status_code == 200
    monkeypatch.setattr(aws.ses(), "send_raw_email", real)
    sign_in(client, OFFICER)  # a sign-in link too

    sent_links = [link for mail in outbox() for link in mail.links]
    sent_tokens = {link.split("?", 1)[0].rsplit("/", 1)[1] for link in sent_links}
    assert len(sent_tokens) >= 6 and all(opens_a_link(t) for t in sent_tokens)
    at_rest = every_string_at_rest()
    assert not [s for s in at_rest for token in sent_tokens if token in s]
    # Nor a token of the failed entries, never sent: nothing at rest opens any stored link.
    candidates = {m for s in at_rest for m in TOKEN_LIKE.findall(s)}
    assert not [c for c in candidates if opens_a_link(c)]
    # The failed entries are still there for the officers, and expire after the retention.
    failed = [i for i in _outbox_items() if i["status"]["S"] == "failed"]
    assert len(failed) == 1 and all("message" in i for i in failed)
    retention = get_services().policy.rules.lifecycle.failed_delivery_retention_days
    failed_at = int(datetime.fromisoformat(failed[0]["failed_at"]["S"]).timestamp())
    assert int(failed[0]["expires_ttl"]["N"]) - failed_at == retention * 86400


def test_an_e_mail_sent_twice_carries_the_same_working_link(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = get_services().store
    real_mark = store.mark_outbox_sent

    def lost(*_: Any) -> None:
        raise ServiceUnavailable("throttled")

    # Sent, but the "sent" mark is lost: the sweep sends the entry again.
    monkeypatch.setattr(store, "mark_outbox_sent", lost)
    file_request(client)
    monkeypatch.setattr(store, "mark_outbox_sent", real_mark)
    assert sweep(client)["sent"] == 1
    first, second = [m for m in outbox() if m.to == [REQUESTER]]
    assert first.links == second.links
    assert press(client, link_with(second, "confirm")).status_code == 200


def _outbox_items() -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=MAIN)["Items"]
    return [i for i in items if i["PK"]["S"].startswith("OUTBOX#")]
