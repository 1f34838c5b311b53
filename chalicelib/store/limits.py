"""Hourly rate counters (the brakes of docs/security.md): one item per key and clock hour."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.errors import Conflict, ServiceUnavailable
from ..domain.people import person_key
from . import keys
from .errors import translate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]
# A counter outlives its hour a little, then DynamoDB's TTL may collect it (judged by key).
COUNTER_RETENTION_SECONDS = 2 * 3600
ATTEMPTS = "attempts"
# What is counted: refused form attempts and sign-in requests per source IP, sign-in
# requests per typed address.
Kind = Literal["refused", "signin_source", "signin_address"]
Counter = tuple[Kind, str]


def counter_key(counter: Counter, now: datetime) -> Item:
    """Key of a counter (kind, source IP or address) in the clock hour of `now`."""
    kind, subject = counter
    if kind == "signin_address":
        return keys.signin_address_key(person_key(subject), now)
    return keys.source_counter_key(kind.upper(), subject, now)


@contextmanager
def _aws_errors() -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise translate(error) from error


class RateCounters:
    """Atomic per-hour counters in the main table; reading one never writes."""

    def __init__(self, client: DynamoDBClient, main_table: str) -> None:
        self._client = client
        self._main = main_table

    def current(self, counters: Sequence[Counter], now: datetime) -> list[int]:
        """Return each counter's value this hour (0 when absent), in one consistent read."""
        wanted = [counter_key(c, now) for c in counters]
        found: dict[tuple[str, str], int] = {}
        request: Any = {self._main: {"Keys": list(wanted), "ConsistentRead": True}}
        for attempt in range(8):
            with _aws_errors():
                response = self._client.batch_get_item(RequestItems=request)
            for got in response.get("Responses", {}).get(self._main, []):
                found[(got["PK"]["S"], got["SK"]["S"])] = int(got.get(ATTEMPTS, {"N": "0"})["N"])
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return [found.get((k["PK"]["S"], k["SK"]["S"]), 0) for k in wanted]
            # Keys are left unread only when DynamoDB throttles: back off, then ask again.
            time.sleep(min(0.5, 0.01 * 2**attempt))
        raise ServiceUnavailable("BatchGetItem left keys unread")

    def count(self, counter: Counter, limit: int, now: datetime) -> int | None:
        """Add one attempt to a counter unless it is over `limit` (see `count_key`)."""
        return self.count_key(counter_key(counter, now), limit, now)

    def count_key(self, key: Item, limit: int, now: datetime) -> int | None:
        """Add one attempt unless the counter is already over `limit`; return the new count.

        The count stops at `limit + 1` (the attempt that crosses the limit, which the caller
        records once); past it nothing changes and None is returned.
        """
        try:
            with _aws_errors():
                response = self._client.update_item(
                    TableName=self._main,
                    Key=key,
                    UpdateExpression=f"ADD {ATTEMPTS} :one SET expires_ttl = :ttl",
                    ConditionExpression=f"attribute_not_exists({ATTEMPTS}) OR {ATTEMPTS} <= :max",
                    ExpressionAttributeValues={
                        ":one": {"N": "1"},
                        ":max": {"N": str(limit)},
                        ":ttl": {"N": str(int(now.timestamp()) + COUNTER_RETENTION_SECONDS)},
                    },
                    ReturnValues="UPDATED_NEW",
                )
        except Conflict:
            return None
        return int(response["Attributes"][ATTEMPTS]["N"])
