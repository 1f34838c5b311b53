"""Read request items as stored, many at once, for the integrity check (no Scan)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from . import keys
from .dynamo import DynamoTable, Item, key_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH = 100  # BatchGetItem's limit


def _batches(ids: Iterable[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for request_id in ids:
        batch.append(request_id)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


class _RequestItems(DynamoTable):
    def read(self, ids: Iterable[str]) -> dict[str, Item]:
        found: dict[str, Item] = {}
        for batch in _batches(ids):
            wanted = {request_id: keys.request_key(request_id) for request_id in batch}
            got = self._batch_get(list(wanted.values()))
            for request_id, key in wanted.items():
                if (item := got.get(key_of(key))) is not None:
                    found[request_id] = item
        return found


def request_items(client: DynamoDBClient, main_table: str, ids: Iterable[str]) -> dict[str, Item]:
    """Return the stored item of each request id that exists (strongly consistent)."""
    return _RequestItems(client, main_table).read(ids)
