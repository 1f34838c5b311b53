"""SES reports a bounce or complaint later: the outbox entry ends failed, visible, not retried."""

from __future__ import annotations

import json

import boto3
import pytest
from chalice.test import Client

from chalicelib.service.context import get_services
from tests.integration.conftest import MAIN, file_request

pytestmark = pytest.mark.integration


def only_outbox_id() -> str:
    items = boto3.client("dynamodb").scan(TableName=MAIN)["Items"]
    (entry,) = [i for i in items if i["PK"]["S"].startswith("OUTBOX#")]
    return entry["PK"]["S"].split("#", 1)[1]


def ses_event(kind: str, outbox_id: str, **detail: object) -> str:
    return json.dumps(
        {
            "eventType": kind,
            "mail": {"messageId": "m-1", "tags": {"outbox_id": [outbox_id]}},
            **detail,
        }
    )


def test_a_permanent_bounce_marks_the_e_mail_failed(client: Client) -> None:
    file_request(client)
    outbox_id = only_outbox_id()
    assert get_services().store.outbox_status(outbox_id) == ("sent", None)
    event = client.events.generate_sns_event(
        message=ses_event(
            "Bounce", outbox_id, bounce={"bounceType": "Permanent", "bounceSubType": "NoEmail"}
        )
    )
    client.lambda_.invoke("email_delivery_events", event)
    assert get_services().store.outbox_status(outbox_id) == ("failed", "bounce: NoEmail")


@pytest.mark.parametrize(
    "message",
    [
        ses_event("Bounce", "whatever", bounce={"bounceType": "Transient"}),
        ses_event("Delivery", "whatever"),
        "not json",
    ],
)
def test_what_is_not_a_final_failure_changes_nothing(client: Client, message: str) -> None:
    file_request(client)
    outbox_id = only_outbox_id()
    final = message.replace("whatever", outbox_id)
    client.lambda_.invoke("email_delivery_events", client.events.generate_sns_event(message=final))
    assert get_services().store.outbox_status(outbox_id) == ("sent", None)


def test_a_complaint_for_an_unknown_entry_is_ignored(client: Client) -> None:
    event = client.events.generate_sns_event(message=ses_event("Complaint", "0" * 16))
    client.lambda_.invoke("email_delivery_events", event)  # no error, nothing created
    items = boto3.client("dynamodb").scan(TableName=MAIN)["Items"]
    assert items == []
