"""E-mails are never lost: throttling, permanent rejection, a crash before sending, two sweeps."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from chalice.test import Client

from chalicelib import aws
from chalicelib.service.context import get_services
from tests.integration.conftest import file_request, html, link_with, outbox, press
from tests.integration.test_races_and_faults import SerialisedClient

pytestmark = pytest.mark.integration


def ses_failing(times: int, code: str) -> Callable[..., Any]:
    """Make SES refuse the next `times` sends with an error code, then behave."""
    client = aws.ses()
    real = client.send_raw_email
    left = {"n": times}

    def send(**kwargs: Any) -> Any:
        if left["n"] > 0:
            left["n"] -= 1
            raise ClientError({"Error": {"Code": code, "Message": code}}, "SendRawEmail")
        return real(**kwargs)

    return send


def sweep(client: Client, hours: float = 7) -> dict[str, int]:
    """Move the clock on and run the scheduled sweep as Lambda would."""
    services = get_services()
    now = services.clock()
    services.clock = lambda: now + timedelta(hours=hours)
    event = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
    result = client.lambda_.invoke("deliver_pending_email", event)
    return dict(result.payload)


def test_throttled_mail_is_delivered_once_after_recovery_with_the_same_link(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aws.ses(), "send_raw_email", ses_failing(3, "Throttling"))
    for n in range(3):
        assert file_request(client, email=f"d{n}@mcn.gouv.qc.ca").status_code == 200
    assert outbox() == []  # every first attempt was throttled
    assert sweep(client) == {"sent": 3, "retry": 0, "failed": 0, "skipped": 0}
    assert sorted(m.to[0] for m in outbox()) == [f"d{n}@mcn.gouv.qc.ca" for n in range(3)]
    assert sweep(client, hours=14) == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    assert len(outbox()) == 3
    # The delivered link is the one written with the request: it works.
    assert press(client, link_with(outbox()[0], "confirm")).status_code == 200


def test_a_rejected_address_ends_failed_without_endless_retries(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aws.ses(), "send_raw_email", ses_failing(100, "MessageRejected"))
    file_request(client)
    assert sweep(client) == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    store = get_services().store
    (entry_id,) = _outbox_ids()
    assert store.outbox_status(entry_id) == ("failed", "MessageRejected")


def test_transient_failures_give_up_after_a_bounded_number_of_tries(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aws.ses(), "send_raw_email", ses_failing(100, "Throttling"))
    file_request(client)
    results = [sweep(client, hours=7 * (n + 1)) for n in range(8)]
    assert sum(r["failed"] for r in results) == 1
    (entry_id,) = _outbox_ids()
    status, reason = get_services().store.outbox_status(entry_id) or ("", "")
    assert status == "failed" and reason and "8 tries" in reason


def test_a_crash_between_commit_and_send_loses_nothing(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chalicelib.service.submit.deliver", lambda *_: None)
    assert file_request(client).status_code == 200
    assert outbox() == []
    assert sweep(client, hours=0) == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    assert sweep(client, hours=0.1) == {"sent": 1, "retry": 0, "failed": 0, "skipped": 0}
    confirmed = press(client, link_with(outbox()[0], "confirm"))
    assert confirmed.status_code == 200, html(confirmed)


def test_two_sweeps_at_the_same_instant_send_nothing_twice(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chalicelib.service.submit.deliver", lambda *_: None)
    for n in range(5):
        file_request(client, email=f"s{n}@mcn.gouv.qc.ca")
    services = get_services()
    monkeypatch.setattr(services.store, "_client", SerialisedClient(services.store._client))
    later = services.clock() + timedelta(hours=1)
    services.clock = lambda: later
    from chalicelib.service.sweep import deliver_due

    start = threading.Barrier(2)
    reports: list[dict[str, int]] = []

    def run() -> None:
        start.wait(timeout=10)
        reports.append(deliver_due(services))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(r["sent"] for r in reports) == 5
    assert sorted(m.to[0] for m in outbox()) == [f"s{n}@mcn.gouv.qc.ca" for n in range(5)]


def _outbox_ids() -> list[str]:
    import boto3

    items = boto3.client("dynamodb").scan(TableName="sesame-test-main")["Items"]
    return [i["PK"]["S"].split("#", 1)[1] for i in items if i["PK"]["S"].startswith("OUTBOX#")]
