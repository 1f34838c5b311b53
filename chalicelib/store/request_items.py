"""Read request items as stored, many at once, for the integrity check (no Scan)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from . import keys
from .errors import translate

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


def request_items(
    client: DynamoDBClient, main_table: str, ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Return the stored item of each request id that exists (strongly consistent)."""
    found: dict[str, dict[str, Any]] = {}
    for batch in _batches(ids):
        wanted: Any = {
            main_table: {"Keys": [keys.request_key(i) for i in batch], "ConsistentRead": True}
        }
        try:
            while wanted:
                response = client.batch_get_item(RequestItems=wanted)
                for item in response.get("Responses", {}).get(main_table, []):
                    found[item["PK"]["S"].removeprefix("REQUEST#")] = item
                wanted = response.get("UnprocessedKeys") or None
        except (ClientError, BotoCoreError) as error:
            raise translate(error) from error
    return found
