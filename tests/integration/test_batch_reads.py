"""Reading many requests at once (the integrity check): every stored one is read, however
DynamoDB splits the answer, and a table that keeps keys unread ends in a clear 503, not a hang.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import aws
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.store import dynamo
from chalicelib.store.request_items import request_items
from tests.integration.conftest import MAIN, file_request

pytestmark = pytest.mark.integration


class Throttled:
    """The real client, except that a BatchGetItem reads `reads` keys and leaves the rest
    unread (as DynamoDB does when throttled) the first `times` calls."""

    def __init__(self, times: int, reads: int = 1) -> None:
        self._real = aws.dynamodb()
        self.left = times
        self.reads = reads
        self.calls = 0

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        self.calls += 1
        if self.left <= 0:
            return dict(self._real.batch_get_item(RequestItems=RequestItems))
        self.left -= 1
        table, wanted = next(iter(RequestItems.items()))
        first, rest = wanted["Keys"][: self.reads], wanted["Keys"][self.reads :]
        response: dict[str, Any] = {"Responses": {table: []}}
        if first:
            response = dict(
                self._real.batch_get_item(RequestItems={table: {**wanted, "Keys": first}})
            )
        response["UnprocessedKeys"] = {table: {**wanted, "Keys": rest}} if rest else {}
        return response


def filed_ids(client: Client, count: int) -> list[str]:
    """File `count` requests from different people; return their ids as the table holds them."""
    for n in range(count):
        assert file_request(client, email=f"personne{n}@mcn.gouv.qc.ca").status_code == 200
    # A Scan, test-only (as conftest's counts): the ids as stored, not as the app reports them.
    items = boto3.client("dynamodb").scan(
        TableName=MAIN,
        FilterExpression="begins_with(PK, :p) AND SK = :sk",
        ExpressionAttributeValues={":p": {"S": "REQUEST#"}, ":sk": {"S": "REQUEST"}},
    )["Items"]
    ids = sorted(item["PK"]["S"].removeprefix("REQUEST#") for item in items)
    assert len(ids) == count
    return ids


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses the stores take between tries, recorded instead of waited."""
    pauses: list[float] = []
    monkeypatch.setattr(dynamo.time, "sleep", pauses.append)
    return pauses


def test_every_request_is_read_when_dynamodb_leaves_keys_unread(
    client: Client, slept: list[float]
) -> None:
    ids = filed_ids(client, 3)
    throttled = Throttled(times=2)
    unknown = "00000000-0000-4000-8000-000000000000"

    found = request_items(throttled, MAIN, [*ids, unknown])  # type: ignore[arg-type]

    assert sorted(found) == ids  # the unknown id is simply absent
    assert all(found[i]["PK"]["S"] == f"REQUEST#{i}" for i in ids)
    assert throttled.calls == 3 and len(slept) == 2  # it backed off before each retry


def test_more_than_a_batch_of_ids_takes_one_call_per_hundred(client: Client) -> None:
    ids = filed_ids(client, 2)
    unknown = [f"00000000-0000-4000-8000-{n:012d}" for n in range(150)]
    counting = Throttled(times=0)

    found = request_items(counting, MAIN, [*unknown, *ids])  # type: ignore[arg-type]

    assert sorted(found) == ids
    assert counting.calls == 2  # BatchGetItem reads at most 100 keys


def test_a_table_that_keeps_keys_unread_ends_in_service_unavailable(
    client: Client, slept: list[float]
) -> None:
    ids = filed_ids(client, 2)
    always = Throttled(times=10_000, reads=0)

    with pytest.raises(ServiceUnavailable):
        request_items(always, MAIN, ids)  # type: ignore[arg-type]

    assert always.calls == dynamo.BATCH_GET_ATTEMPTS  # bounded: it never loops for ever
    assert max(slept) <= 0.5
