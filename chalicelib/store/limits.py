"""Hourly rate counters (the brakes of docs/security.md): one item per key and clock hour."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from ..domain.errors import Conflict
from ..domain.people import person_key
from . import keys
from .dynamo import DynamoTable, Item, key_of

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


def limit_update(table: str, key: Item, counter: str, maximum: int, ttl: int | None) -> Item:
    """A transaction item raising a counter by one, refused once it reached `maximum`."""
    update: Item = {
        "TableName": table,
        "Key": key,
        "UpdateExpression": f"ADD {counter} :one" + (" SET expires_ttl = :ttl" if ttl else ""),
        "ConditionExpression": f"attribute_not_exists({counter}) OR {counter} < :max",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":max": {"N": str(maximum)}},
    }
    if ttl:
        update["ExpressionAttributeValues"][":ttl"] = {"N": str(ttl)}
    return {"Update": update}


def open_request_closed(table: str, key: Item) -> Item:
    """A transaction item lowering a requester's open-request counter by one."""
    return {
        "Update": {
            "TableName": table,
            "Key": key,
            "UpdateExpression": "ADD open_count :minus_one",
            "ExpressionAttributeValues": {":minus_one": {"N": "-1"}},
        }
    }


class RateCounters(DynamoTable):
    """Atomic per-hour counters in the main table; reading one never writes."""

    def current(self, counters: Sequence[Counter], now: datetime) -> list[int]:
        """Return each counter's value this hour (0 when absent), in one consistent read."""
        wanted = [counter_key(c, now) for c in counters]
        found = self._batch_get(wanted)
        return [int(found.get(key_of(k), {}).get(ATTEMPTS, {"N": "0"})["N"]) for k in wanted]

    def count(self, counter: Counter, limit: int, now: datetime) -> int | None:
        """Add one attempt to a counter unless it is over `limit` (see `count_key`)."""
        return self.count_key(counter_key(counter, now), limit, now)

    def count_key(self, key: Item, limit: int, now: datetime) -> int | None:
        """Add one attempt unless the counter is already over `limit`; return the new count.

        The count stops at `limit + 1` (the attempt that crosses the limit, which the caller
        records once); past it nothing changes and None is returned.
        """
        try:
            response = self._update(
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
