"""The audit chain in DynamoDB: tampering with stored events is named; concurrent writers never
fork it; `python -m ops.verify_audit` says so.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib.domain.audit_chain import link_hash
from chalicelib.domain.models import AuditEvent
from chalicelib.service.context import get_services
from chalicelib.store import keys
from chalicelib.store.audit import AuditFilter, AuditLog, HeadRead
from ops import verify_audit as audit_verify
from tests.integration.conftest import AUDIT, MAIN, file_request, link_with, outbox, press
from tests.integration.test_races_and_faults import SerialisedClient

pytestmark = pytest.mark.integration


def audited_workflow(client: Client) -> int:
    """Run a request through its whole approval; return how many events the log holds."""
    file_request(client)
    press(client, link_with(outbox()[0], "confirm"))
    press(client, link_with(outbox()[0], "decide"), decision="approve")
    press(client, link_with(outbox()[0], "decide"), decision="approve")
    head = get_services().store.audit.head()
    assert head is not None
    return head.seq


def key(seq: int) -> dict[str, Any]:
    return {"PK": {"S": "CHAIN#main"}, "SK": {"S": f"SEQ#{seq:012d}"}}


def stored(seq: int) -> dict[str, Any]:
    item: dict[str, Any] = boto3.client("dynamodb").get_item(TableName=AUDIT, Key=key(seq))["Item"]
    return item


def put_at(seq: int, item: dict[str, Any]) -> None:
    """Write an item's attributes under another position (what an intruder with access does)."""
    boto3.client("dynamodb").put_item(TableName=AUDIT, Item={**item, **key(seq)})


def first_problem() -> tuple[int, str]:
    verdict = get_services().store.audit.verify()
    assert verdict.problem is not None, verdict.summary()
    return verdict.problem.seq, verdict.problem.kind


def test_an_untouched_log_is_reported_intact_by_the_command(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    count = audited_workflow(client)
    head = get_services().store.audit.head()
    assert head is not None and count >= 5
    assert audit_verify.main(["--stage", "test"]) == 0
    printed = capsys.readouterr().out
    assert printed == f"Audit log {AUDIT}: intact, {count} events, last hash {head.hash}\n"


def test_an_edited_field_is_named_by_the_command(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    audited_workflow(client)
    (confirmed,) = [
        e for e in get_services().store.audit.all_matching(AuditFilter(action="confirmed"))
    ]
    item = stored(confirmed.seq)
    item["body"] = {"S": item["body"]["S"].replace("marie.tremblay", "someone.else")}
    put_at(confirmed.seq, item)
    assert audit_verify.main(["--stage", "test"]) == 1
    assert f"NOT intact: event {confirmed.seq} altered" in capsys.readouterr().out


def test_an_edited_index_attribute_is_named(client: Client) -> None:
    # Hiding an event from the "actor" filter without touching its body is tampering too.
    audited_workflow(client)
    item = stored(4)
    item["GSI2PK"] = {"S": "ACTOR#nobody@mcn.gouv.qc.ca"}
    put_at(4, item)
    assert first_problem() == (4, "altered")


def test_a_deleted_event_is_named(client: Client) -> None:
    audited_workflow(client)
    boto3.client("dynamodb").delete_item(TableName=AUDIT, Key=key(3))
    assert first_problem() == (3, "missing")


def test_two_swapped_events_are_named(client: Client) -> None:
    audited_workflow(client)
    third, fourth = stored(3), stored(4)
    put_at(3, fourth)
    put_at(4, third)
    assert first_problem() == (3, "reordered")


def test_a_forged_event_inserted_in_the_middle_is_named(client: Client) -> None:
    count = audited_workflow(client)
    # The intruder moves events 3.. one place down and slips a well-chained forgery in at 3.
    for seq in range(count, 2, -1):
        put_at(seq + 1, stored(seq))
    previous = stored(2)["hash"]["S"]
    event = AuditEvent.model_validate_json(stored(3)["body"]["S"])
    event = event.model_copy(update={"actor": "intruder@mcn.gouv.qc.ca"})
    body = event.model_dump_json()
    forged = {
        **stored(3),
        **keys.audit_event_index(3, event.at, event.action, event.actor, event.request_id),
        "body": {"S": body},
        "prev": {"S": previous},
        "hash": {"S": link_hash(3, previous, body)},
    }
    put_at(3, forged)
    assert first_problem() == (3, "inserted")


def test_a_cut_tail_is_named_against_the_head_kept_with_the_requests(client: Client) -> None:
    count = audited_workflow(client)
    boto3.client("dynamodb").delete_item(TableName=AUDIT, Key=key(count))
    assert first_problem() == (count, "truncated")


class HeadReadersMeet:
    """Let the first head read of every writer return only once all have read: all of them
    then chain to the same head, the worst case for a fork."""

    def __init__(self, inner: Any, writers: int) -> None:
        self._inner = inner
        self._barrier = threading.Barrier(writers)
        self._seen: set[int] = set()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def get_item(self, **kwargs: Any) -> Any:
        result = self._inner.get_item(**kwargs)
        me = threading.get_ident()
        with self._lock:
            first = me not in self._seen
            self._seen.add(me)
        if first and kwargs["Key"]["SK"]["S"] == "HEAD":
            self._barrier.wait(timeout=30)
        return result


def test_twenty_concurrent_writers_leave_one_unbroken_chain(client: Client) -> None:
    writers, each = 20, 3
    # In-process moto is not thread-safe; DynamoDB serialises each call: one lock stands in.
    shared = HeadReadersMeet(SerialisedClient(boto3.client("dynamodb")), writers)
    log = AuditLog(shared, MAIN, AUDIT)  # type: ignore[arg-type]
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for n in range(each):
                log.append(
                    AuditEvent(
                        request_id=None,
                        event_id=f"w{writer:02d}e{n:02d}",
                        at=datetime.now(UTC),
                        action="signed_in",
                        actor=f"agent{writer}@mcn.gouv.qc.ca",
                        via="link",
                    )
                )
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert log.retries >= writers - 1  # they really raced for the same head

    reader = AuditLog(boto3.client("dynamodb"), MAIN, AUDIT)
    verdict = reader.verify()
    assert verdict.intact, verdict.summary()
    assert verdict.count == writers * each
    stored_ids = [e.event.event_id for e in reader.all_matching(AuditFilter())]
    assert sorted(stored_ids) == sorted(
        f"w{w:02d}e{n:02d}" for w in range(writers) for n in range(each)
    )


def test_a_stale_head_read_with_the_link_loses_and_the_append_reads_it_again(
    client: Client,
) -> None:
    """The head read in the link's BatchGetItem may be overtaken before the transaction: the
    conditioned head refuses it, the append re-reads, and the chain does not fork."""
    audited_workflow(client)
    log = AuditLog(boto3.client("dynamodb"), MAIN, AUDIT)
    stale = log.head()
    assert stale is not None
    event = AuditEvent(
        request_id=None,
        event_id="overtaker",
        at=datetime.now(UTC),
        action="signed_in",
        actor="agent@mcn.gouv.qc.ca",
        via="link",
    )
    log.append(event)
    late = event.model_copy(update={"event_id": "late"})
    chained = log.append(late, head=HeadRead(stale))
    assert log.retries == 1
    assert chained.seq == stale.seq + 2
    assert log.verify().intact
