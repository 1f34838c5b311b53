"""What every store needs from DynamoDB: the item type, error translation, get, query, batch-get
and transact, written once over the main table."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.errors import Conflict, ServiceUnavailable
from . import keys
from .errors import translate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryOutputTypeDef, TransactWriteItemTypeDef

Item = dict[str, Any]
T = TypeVar("T")
# BatchGetItem leaves keys unread only when DynamoDB throttles: this many tries, backing off.
BATCH_GET_ATTEMPTS = 8


@contextmanager
def aws_errors() -> Iterator[None]:
    """Turn ClientError and BotoCoreError into domain errors, raised from the original."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise translate(error) from error


def key_of(item: Item) -> tuple[str, str]:
    """Return an item's (PK, SK) pair, to match items read back with the keys asked for."""
    return item["PK"]["S"], item["SK"]["S"]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing and where the next one starts (None: this is the last)."""

    items: list[T]
    next_key: Item | None


def every_item(page_from: Callable[[Item | None], Page[T]]) -> Iterator[T]:
    """Yield every item of a listing, page after page: `page_from(start)` reads one page."""
    start: Item | None = None
    while True:
        page = page_from(start)
        yield from page.items
        if page.next_key is None:
            return
        start = page.next_key


def index_query(
    table: str, index: str, key: str, values: Item, *, limit: int, newest: bool
) -> Item:
    """Return a Query of one index's page: its key condition and values, order and size."""
    return {
        "TableName": table,
        "IndexName": index,
        "KeyConditionExpression": key,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": not newest,
        "Limit": limit,
    }


@dataclass(frozen=True, kw_only=True)
class Period:
    """The period a listing asks for; `until` is exclusive. An empty end does not bound it."""

    since: datetime | None = None
    until: datetime | None = None

    def key_condition(self, sort_key: str, values: Item, text: Callable[[datetime], str]) -> str:
        """Return the part of a key condition that bounds `sort_key`; add the values it names.

        `text` writes an instant as the sort key holds it. Empty when neither end is set.
        """
        if self.since:
            values[":since"] = {"S": text(self.since)}
        if self.until:
            values[":until"] = {"S": text(self.until)}
        if self.since and self.until:
            return f" AND {sort_key} BETWEEN :since AND :until"
        if self.since:
            return f" AND {sort_key} >= :since"
        if self.until:
            return f" AND {sort_key} < :until"
        return ""


class DynamoTable:
    """Base of the stores: one client and the main table's name, with the common calls."""

    def __init__(self, client: DynamoDBClient, main_table: str) -> None:
        self._client = client
        self._main = main_table

    def _get(self, key: Item) -> Item | None:
        """Read one item of the main table (strongly consistent), or None."""
        with aws_errors():
            response = self._client.get_item(TableName=self._main, Key=key, ConsistentRead=True)
        return response.get("Item")

    def _query_all(self, partition: str) -> list[Item]:
        """Read every item of one partition of the main table, page by page."""
        return list(
            self._query_pages(
                {
                    "TableName": self._main,
                    "KeyConditionExpression": "PK = :pk",
                    "ExpressionAttributeValues": {":pk": {"S": partition}},
                }
            )
        )

    def _pages(self, query: Item) -> Iterator[QueryOutputTypeDef]:
        """Yield every page a query returns, following LastEvaluatedKey."""
        kwargs = dict(query)
        with aws_errors():
            while True:
                page = self._client.query(**kwargs)
                yield page
                if "LastEvaluatedKey" not in page:
                    return
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _query_pages(self, query: Item) -> Iterator[Item]:
        """Yield every item a query returns, page by page."""
        for page in self._pages(query):
            yield from page.get("Items", [])

    def _count(self, query: Item) -> int:
        """Count the items a query matches (Select COUNT), page by page."""
        return sum(page.get("Count", 0) for page in self._pages({**query, "Select": "COUNT"}))

    def _query_page(self, query: Item, start: Item | None = None) -> tuple[list[Item], Item | None]:
        """Run one query (one page from `start`); return its items and the next page's key."""
        kwargs = {**query, "ExclusiveStartKey": start} if start else query
        with aws_errors():
            page = self._client.query(**kwargs)
        return page.get("Items", []), page.get("LastEvaluatedKey")

    def _due_page(
        self,
        index: str,
        attributes: tuple[str, str],
        partition: str,
        until: str,
        limit: int,
        start: Item | None = None,
    ) -> tuple[list[Item], Item | None]:
        """One page of a sparse index's partition sorted "<instant>#<id>", up to `until`."""
        pk, sk = attributes
        return self._query_page(
            {
                "TableName": self._main,
                "IndexName": index,
                "KeyConditionExpression": f"{pk} = :pk AND {sk} <= :until",
                "ExpressionAttributeValues": {
                    ":pk": {"S": partition},
                    ":until": {"S": keys.sorted_by(until, keys.AFTER_ANY_ID)},
                },
                "Limit": limit,
            },
            start,
        )

    def _put_new(self, item: Item) -> None:
        """Put an item of the main table that must not exist yet (Conflict when its key does)."""
        with aws_errors():
            self._client.put_item(
                TableName=self._main, Item=item, ConditionExpression="attribute_not_exists(PK)"
            )

    def _batch_get(self, wanted: Sequence[Item]) -> dict[tuple[str, str], Item]:
        """Read items of the main table by key in one BatchGetItem (strongly consistent)."""
        found: dict[tuple[str, str], Item] = {}
        request: Any = {self._main: {"Keys": list(wanted), "ConsistentRead": True}}
        for attempt in range(BATCH_GET_ATTEMPTS):
            with aws_errors():
                response = self._client.batch_get_item(RequestItems=request)
            for got in response.get("Responses", {}).get(self._main, []):
                found[key_of(got)] = got
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            time.sleep(min(0.5, 0.01 * 2**attempt))
        raise ServiceUnavailable("BatchGetItem left keys unread")

    def _transact(self, items: Sequence[Item]) -> None:
        """Write items in one TransactWriteItems, idempotent if the SDK retries the call."""
        writes: list[TransactWriteItemTypeDef] = list(items)  # type: ignore[arg-type]
        with aws_errors():
            self._client.transact_write_items(
                TransactItems=writes, ClientRequestToken=uuid.uuid4().hex
            )

    def _update(self, **update: Any) -> Item:
        """Run one UpdateItem on the main table; return DynamoDB's answer."""
        with aws_errors():
            return dict(self._client.update_item(TableName=self._main, **update))

    def _conditional_update(self, **update: Any) -> bool:
        """Run one conditioned UpdateItem; False when its condition refused it."""
        try:
            self._update(**update)
        except Conflict:
            return False
        return True
