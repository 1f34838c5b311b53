"""The audit log: one hash chain of events in the audit table, only ever appended to.

`append` is the single way in: it reads the chain's head (kept in the main table), chains the
event to it and writes, in ONE TransactWriteItems, the caller's own items (the state change),
the event (`attribute_not_exists`) and the new head (conditioned on the head it read). Two
writers that read the same head cannot both win, so the chain never forks; the loser re-reads
the head and tries again, unless its own items were refused (then it is a plain Conflict).
The store offers no way to update or delete an event.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from ..domain.audit_chain import ChainLink, next_link
from ..domain.audit_events import audit_event
from ..domain.errors import Conflict, DomainError, ServiceUnavailable
from ..domain.models import AuditEvent
from . import keys
from .audit_check import AuditCheck
from .dynamo import Item, Page, Period, every_item, index_query
from .errors import translate
from .state_stamp import with_state

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 60
BACKOFF_FIRST_SECONDS = 0.002
BACKOFF_CAP_SECONDS = 0.1
_LOST_RACE = {"ConditionalCheckFailed", "TransactionConflict"}
_random = secrets.SystemRandom()


@dataclass(frozen=True)
class ChainedEvent:
    """An audit event with its place in the chain."""

    seq: int
    prev: str
    hash: str
    event: AuditEvent


@dataclass(frozen=True)
class HeadRead:
    """The chain's head as read together with other items (`link` None: the chain is empty)."""

    link: ChainLink | None


# Keyword-only: a filter inherits `since` and `until` first, so a positional call would misplace
# every field.
@dataclass(frozen=True, kw_only=True)
class AuditFilter(Period):
    """What the audit page asks for: a period and these fields. Empty fields do not filter."""

    actor: str | None = None
    action: str | None = None
    request_id: str | None = None


def _reasons(error: ClientError) -> list[str]:
    return [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]


class AuditLog(AuditCheck):
    """Append to, read and check one chain of audit events."""

    def __init__(
        self,
        client: DynamoDBClient,
        main_table: str,
        audit_table: str,
        chain: str = "main",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(client, main_table)
        self._audit = audit_table
        self.chain = chain
        self._sleep = sleep
        self._versions_seen: set[str] = set()
        self.retries = 0  # lost races since this object was made (the benchmark reads it)

    # ----- writing ---------------------------------------------------------------------------
    def _event_put(self, event: AuditEvent, body: str, link: ChainLink, prev: str) -> Item:
        item: Item = {
            **keys.audit_event_key(self.chain, link.seq),
            **keys.audit_event_index(
                link.seq, event.at, event.action, event.actor, event.request_id
            ),
            "seq": {"N": str(link.seq)},
            "prev": {"S": prev},
            "hash": {"S": link.hash},
            "body": {"S": body},
        }
        return {
            "Put": {
                "TableName": self._audit,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    def _head_put(self, read: ChainLink | None, link: ChainLink, at: datetime) -> Item:
        put: Item = {
            "TableName": self._main,
            "Item": {
                **keys.audit_head_key(self.chain),
                "seq": {"N": str(link.seq)},
                "hash": {"S": link.hash},
                "at": {"S": keys.stamp(at)},
            },
        }
        if read is None:
            put["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            put["ConditionExpression"] = "seq = :read"
            put["ExpressionAttributeValues"] = {":read": {"N": str(read.seq)}}
        return {"Put": put}

    def append(
        self, event: AuditEvent, with_items: Sequence[Item] = (), head: HeadRead | None = None
    ) -> ChainedEvent:
        """Chain an event and write it with `with_items` (the state change), all or nothing.

        `head`, when given, is the head read together with what the change needed (one round
        trip instead of two); the first attempt chains to it. It may be stale by now: the head
        is written conditioned on it, so a stale head loses like any race and the retry reads
        the head afresh. The chain cannot fork either way.

        Raises Conflict when one of `with_items` is refused (someone changed the request
        first), ServiceUnavailable when DynamoDB is throttling or the chain stays contended.
        """
        event = with_state(event, with_items, self._main)
        body = event.model_dump_json()
        for attempt in range(MAX_ATTEMPTS):
            read = head.link if head is not None and attempt == 0 else self.head()
            link, prev = next_link(read, body)
            items = [
                *with_items,
                self._event_put(event, body, link, prev),
                self._head_put(read, link, event.at),
            ]
            writes: list[TransactWriteItemTypeDef] = items  # type: ignore[assignment]
            try:
                # One token per attempt: if the SDK retries this call after a timeout, DynamoDB
                # answers the retry as the first call instead of applying it twice.
                self._client.transact_write_items(
                    TransactItems=writes, ClientRequestToken=uuid.uuid4().hex
                )
            except ClientError as error:
                reasons = _reasons(error)
                own, chain = reasons[: len(with_items)], reasons[len(with_items) :]
                lost_race = bool(chain) and set(chain) <= _LOST_RACE | {"None"}
                if not lost_race or any(code != "None" for code in own) or set(chain) == {"None"}:
                    raise translate(error) from error
                self.retries += 1
                ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_FIRST_SECONDS * 2**attempt)
                self._sleep(_random.uniform(0, ceiling))
                continue
            except BotoCoreError as error:
                raise translate(error) from error
            return ChainedEvent(seq=link.seq, prev=prev, hash=link.hash, event=event)
        raise ServiceUnavailable("the audit chain stayed busy")

    def note_policy_version(self, version: str, at: datetime) -> None:
        """Audit the first use of a policy version (once; a failure is retried next time)."""
        if version in self._versions_seen:
            return
        marker = keys.policy_seen_key(version)
        try:
            if self._get(marker) is None:
                event = audit_event(
                    "policy_version_seen",
                    "system",
                    "form",
                    event_id=hashlib.sha256(f"policy:{version}".encode()).hexdigest()[:16],
                    at=at,
                    comment=version,
                )
                put = {
                    "Put": {
                        "TableName": self._main,
                        "Item": {**marker, "first_seen_at": {"S": keys.stamp(at)}},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
                self.append(event, [put])
        except Conflict:
            pass  # another process recorded it first
        except DomainError as error:
            log.warning("policy version %s not audited yet: %s", version, error)
            return
        self._versions_seen.add(version)

    # ----- reading ---------------------------------------------------------------------------
    def _chained(self, item: Item) -> ChainedEvent | None:
        """Turn an index item into an event; items outside the chain are never shown."""
        if item.get("PK", {}).get("S") != keys.chain_partition(self.chain):
            return None
        try:
            event = AuditEvent.model_validate_json(item["body"]["S"])
        except (KeyError, ValidationError):
            return None  # unreadable: the integrity check names it
        return ChainedEvent(
            seq=int(item["seq"]["N"]), prev=item["prev"]["S"], hash=item["hash"]["S"], event=event
        )

    def events_for_request(self, request_id: str) -> list[ChainedEvent]:
        """Return a request's events in the order they happened."""
        items = self._query_pages(
            {
                "TableName": self._audit,
                "IndexName": "ByRequest",
                "KeyConditionExpression": "GSI1PK = :pk",
                "ExpressionAttributeValues": {
                    ":pk": {"S": keys.partition(keys.REQUEST, request_id)}
                },
            }
        )
        found = [e for i in items if (e := self._chained(i))]
        return sorted(found, key=lambda e: e.seq)

    def _page_key(self, wanted: AuditFilter) -> tuple[str, str, Item]:
        """Choose the index for a filter: request, then actor, then action, else all by time."""
        if wanted.request_id:
            partition = keys.partition(keys.REQUEST, wanted.request_id)
            return "ByRequest", "GSI1PK = :pk", {":pk": {"S": partition}}
        if wanted.actor:
            return (
                "ByActor",
                "GSI2PK = :pk",
                {":pk": {"S": keys.partition(keys.ACTOR, wanted.actor)}},
            )
        if wanted.action:
            partition = keys.partition(keys.ACTION, wanted.action)
            return "ByAction", "GSI3PK = :pk", {":pk": {"S": partition}}
        return "ByTime", "PK = :pk", {":pk": {"S": keys.chain_partition(self.chain)}}

    def _page_query(self, wanted: AuditFilter, limit: int) -> Item:
        index, key, values = self._page_key(wanted)
        key += wanted.key_condition("GSISK", values, keys.stamp)
        query = index_query(self._audit, index, key, values, limit=limit, newest=True)
        filters = []
        if wanted.actor and index != "ByActor":
            filters.append("actor = :actor")
            values[":actor"] = {"S": wanted.actor}
        if wanted.action and index != "ByAction":
            filters.append("#action = :action")
            values[":action"] = {"S": wanted.action}
            query["ExpressionAttributeNames"] = {"#action": "action"}
        if filters:
            query["FilterExpression"] = " AND ".join(filters)
        return query

    def page(
        self, wanted: AuditFilter, limit: int, start: Item | None = None
    ) -> Page[ChainedEvent]:
        """Return one page of events matching the filter, newest first: exactly one Query."""
        items, next_key = self._query_page(self._page_query(wanted, limit), start)
        events = [e for i in items if (e := self._chained(i))]
        return Page(events, next_key)  # newest first

    def all_matching(self, wanted: AuditFilter, page_size: int = 500) -> Iterator[ChainedEvent]:
        """Yield every event matching the filter, newest first (exports)."""
        return every_item(lambda start: self.page(wanted, page_size, start))
