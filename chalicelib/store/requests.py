"""Requests, link tokens, outbox entries and audit events in DynamoDB."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.delegation import Delegation
from ..domain.errors import Conflict, LimitReached, ServiceUnavailable
from ..domain.models import (
    AccessRequest,
    AuditEvent,
    LinkToken,
    OutboxEntry,
    OutboxMessage,
    RequestStatus,
    StepStatus,
)
from ..domain.people import person_key
from ..domain.policy import Limits
from . import keys
from .audit import AuditLog, HeadRead, head_from_item
from .console import ConsoleQueries
from .errors import translate
from .limits import RateCounters
from .sessions import SessionStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

Item = dict[str, Any]
OPEN_STATUSES = (RequestStatus.PENDING_CONFIRMATION, RequestStatus.PENDING_APPROVAL)
# Seconds before the sweep considers a new e-mail (the request that wrote it sends it first).
OUTBOX_GRACE_SECONDS = 120
# Partition (in the PendingOutbox index) of deliveries that failed for good.
FAILED_OUTBOX = "OUTBOX#failed"
# How long a used or expired link record is kept before DynamoDB's TTL may collect it.
LINK_RETENTION_SECONDS = 90 * 24 * 3600


def _waiting_for(request: AccessRequest, index: int) -> list[str]:
    """Who a step waits for: nobody once the request is closed (withdrawn, expired)."""
    step = request.steps[index]
    if request.status != RequestStatus.PENDING_APPROVAL or step.status != StepStatus.PENDING:
        return []
    return [person_key(approver) for approver in step.approvers]


@dataclass(frozen=True)
class LinkRead:
    """What resolving an e-mail link needs, read in one BatchGetItem.

    `request` is None when the token names no request (older links) or it does not exist;
    `head` and `delegations` are None when they were not asked for.
    """

    invalid_links: int
    link: LinkToken | None
    request: AccessRequest | None
    head: HeadRead | None
    delegations: tuple[Delegation, ...] | None


@contextmanager
def _aws_errors() -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise translate(error) from error


class RequestStore:
    """The persistence port of the use cases, backed by the main and audit tables."""

    def __init__(
        self,
        client: DynamoDBClient,
        main_table: str,
        audit_table: str,
        next_due: Callable[[AccessRequest], datetime | None] | None = None,
    ) -> None:
        self._client = client
        self._main = main_table
        self._audit = audit_table
        # When the scheduled jobs must look at a request next (domain/timers.py), kept in the
        # sparse DueRequests index on every write of the request.
        self._next_due = next_due
        self.audit = AuditLog(client, main_table, audit_table)
        self.sessions = SessionStore(client, main_table, self.audit)
        self.console = ConsoleQueries(client, main_table)
        self.limits = RateCounters(client, main_table)

    # ----- items -------------------------------------------------------------------------
    def _request_put(self, request: AccessRequest, condition: str, values: Item) -> Item:
        item: Item = {
            **keys.request_key(request.id),
            **keys.requester_index(request.content.email, request.created_at, request.id),
            **keys.request_listing(request),
            "version": {"N": str(request.version)},
            "status": {"S": request.status.value},
            "body": {"S": request.model_dump_json()},
        }
        due = self._next_due(request) if self._next_due else None
        if due is not None:
            item["GSI7PK"] = {"S": "DUE"}
            item["GSI7SK"] = {"S": f"{keys.stamp(due)}#{request.id}"}
        put: Item = {"TableName": self._main, "Item": item, "ConditionExpression": condition}
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def _token_put(self, token: LinkToken) -> Item:
        item: Item = {**keys.link_key(token.token_hash), "body": {"S": token.model_dump_json()}}
        if token.expires_at is not None:
            expiry = int(token.expires_at.timestamp()) + LINK_RETENTION_SECONDS
            item["expires_ttl"] = {"N": str(expiry)}
        return {
            "Put": {
                "TableName": self._main,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    def _token_burn(self, token: LinkToken, now: datetime) -> Item:
        return {
            "Update": {
                "TableName": self._main,
                "Key": keys.link_key(token.token_hash),
                "UpdateExpression": "SET used_at = :now",
                "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(used_at)",
                "ExpressionAttributeValues": {":now": {"S": now.isoformat()}},
            }
        }

    def _outbox_put(self, entry: OutboxEntry) -> Item:
        # The sweep looks at an entry only after a grace period: the request that wrote it
        # sends it right away, and a sweep running meanwhile must not send it a second time.
        due = entry.created_at + timedelta(seconds=OUTBOX_GRACE_SECONDS)
        item: Item = {
            **keys.outbox_key(entry.id),
            "status": {"S": entry.status},
            "body": {"S": entry.model_dump_json(exclude={"message"})},
            # Sparse index of what still has to be delivered, by when it is due.
            "GSI2PK": {"S": "OUTBOX#pending"},
            "GSI2SK": {"S": f"{due.isoformat()}#{entry.id}"},
        }
        if entry.message is not None:
            # Held only until delivery (it carries the link): removed once sent.
            item["message"] = {"S": entry.message.model_dump_json()}
        if entry.event is not None:
            item["kind"] = {"S": "event"}
        return {
            "Put": {
                "TableName": self._main,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    def _assignment_changes(self, before: AccessRequest | None, after: AccessRequest) -> list[Item]:
        """Put "waits for" items for steps that opened, delete them for steps that closed."""
        items: list[Item] = []
        for index in range(len(after.steps)):
            waited = set(_waiting_for(before, index)) if before else set()
            waits = set(_waiting_for(after, index))
            for person in sorted(waits - waited):
                key = keys.assignment_key(person, after.id, index)
                item = {**key, "request_id": {"S": after.id}, "step": {"N": str(index)}}
                items.append({"Put": {"TableName": self._main, "Item": item}})
            for person in sorted(waited - waits):
                key = keys.assignment_key(person, after.id, index)
                items.append({"Delete": {"TableName": self._main, "Key": key}})
        return items

    def _transact(self, items: Sequence[Item]) -> None:
        writes: list[TransactWriteItemTypeDef] = list(items)  # type: ignore[arg-type]
        with _aws_errors():
            self._client.transact_write_items(
                TransactItems=writes, ClientRequestToken=uuid.uuid4().hex
            )

    # ----- commands ----------------------------------------------------------------------
    def _limit_update(self, key: Item, counter: str, maximum: int, ttl: int | None) -> Item:
        update: Item = {
            "TableName": self._main,
            "Key": key,
            "UpdateExpression": f"ADD {counter} :one" + (" SET expires_ttl = :ttl" if ttl else ""),
            "ConditionExpression": f"attribute_not_exists({counter}) OR {counter} < :max",
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":max": {"N": str(maximum)}},
        }
        if ttl:
            update["ExpressionAttributeValues"][":ttl"] = {"N": str(ttl)}
        return {"Update": update}

    def create_request(
        self,
        request: AccessRequest,
        event: AuditEvent,
        tokens: Sequence[LinkToken],
        outbox: Sequence[OutboxEntry],
        limits: Limits,
        source: str = "",
    ) -> None:
        """Store a new request with its first audit event, links and e-mails, all or nothing.

        The requester's open-request and hourly counters, and the hourly counter of the source
        IP, rise in the same transaction, each conditioned on the policy's limit: over a limit
        nothing is written (LimitReached: "open", "hourly" or "source").
        """
        person = person_key(request.content.email)
        hour_ttl = int(request.created_at.timestamp()) + 2 * 3600
        counters = {
            "open": self._limit_update(
                keys.open_requests_key(person), "open_count", limits.max_open_requests, None
            ),
            "hourly": self._limit_update(
                keys.hourly_submissions_key(person, request.created_at),
                "submissions",
                limits.max_submissions_per_hour,
                hour_ttl,
            ),
            "source": self._limit_update(
                keys.source_counter_key("SUBMIT", source, request.created_at),
                "submissions",
                limits.max_submissions_per_source_per_hour,
                hour_ttl,
            ),
        }
        items = [
            self._request_put(request, "attribute_not_exists(PK)", {}),
            *(self._token_put(t) for t in tokens),
            *(self._outbox_put(o) for o in outbox),
            *counters.values(),
        ]
        try:
            self.audit.append(event, items)
        except Conflict as conflict:
            # Which of our own items was refused: the request (a resubmission) or a limit.
            cause = conflict.__cause__
            reasons = (
                [r.get("Code", "") for r in cause.response.get("CancellationReasons", [])]
                if isinstance(cause, ClientError)
                else []
            )
            if (
                reasons[:1] != ["ConditionalCheckFailed"]
                and "ConditionalCheckFailed" in reasons[: len(items)]
            ):
                failed = reasons.index("ConditionalCheckFailed") - (len(items) - len(counters))
                if 0 <= failed < len(counters):
                    raise LimitReached(list(counters)[failed]) from conflict
            raise
        self.audit.note_policy_version(request.content.policy_version, request.created_at)

    def count_invalid_link(self, source: str, now: datetime, limit: int) -> int | None:
        """Count one more unknown or forged link from a source this hour; return the count.

        The count stops one past `limit` (None once it is there: nothing was written).
        """
        return self.limits.count_key(keys.invalid_links_key(source, now), limit, now)

    def invalid_links(self, source: str, now: datetime) -> int:
        """Return how many unknown or forged links a source tried this hour."""
        item = self._get(keys.invalid_links_key(source, now))
        return int(item["attempts"]["N"]) if item else 0

    def read_for_link(
        self,
        source: str,
        now: datetime,
        token_hash: str,
        request_id: str | None,
        *,
        head: bool,
        delegations: bool,
    ) -> LinkRead:
        """Read a link with all a state change from it needs, in one round trip.

        The source's invalid-link counter, the link, its request (when the token names it),
        the audit chain's head and the delegations in force: one BatchGetItem, strongly
        consistent like the GetItem calls it replaces.
        """
        wanted = {
            "counter": keys.invalid_links_key(source, now),
            "link": keys.link_key(token_hash),
        }
        if request_id:
            wanted["request"] = keys.request_key(request_id)
        if head:
            wanted["head"] = keys.audit_head_key(self.audit.chain)
        if delegations:
            wanted["delegations"] = keys.delegations_in_force_key()
        found = self._batch_get(list(wanted.values()))

        def item(name: str) -> Item | None:
            key = wanted.get(name)
            return found.get((key["PK"]["S"], key["SK"]["S"])) if key else None

        counter, link_item, request_item = item("counter"), item("link"), item("request")
        return LinkRead(
            invalid_links=int(counter["attempts"]["N"]) if counter else 0,
            link=self._link_from(link_item) if link_item else None,
            request=AccessRequest.model_validate_json(request_item["body"]["S"])
            if request_item
            else None,
            head=HeadRead(head_from_item(item("head"))) if head else None,
            delegations=self._delegations_from(item("delegations")) if delegations else None,
        )

    def _batch_get(self, wanted: Sequence[Item]) -> dict[tuple[str, str], Item]:
        """Read items of the main table by key in one BatchGetItem (strongly consistent)."""
        found: dict[tuple[str, str], Item] = {}
        request: Any = {self._main: {"Keys": list(wanted), "ConsistentRead": True}}
        for attempt in range(8):
            with _aws_errors():
                response = self._client.batch_get_item(RequestItems=request)
            for got in response.get("Responses", {}).get(self._main, []):
                found[(got["PK"]["S"], got["SK"]["S"])] = got
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            # Keys left unread only when DynamoDB throttles: back off, then ask for those.
            time.sleep(min(0.5, 0.01 * 2**attempt))
        raise ServiceUnavailable("BatchGetItem left keys unread")

    def apply_transition(
        self,
        previous: AccessRequest,
        request: AccessRequest,
        event: AuditEvent,
        burnt: LinkToken | None,
        now: datetime,
        tokens: Sequence[LinkToken] = (),
        outbox: Sequence[OutboxEntry] = (),
        head: HeadRead | None = None,
    ) -> None:
        """Write a state change as one transaction, conditioned on the version that was read.

        `burnt` is the e-mail link used, if any (a decision in the console burns none);
        `head` is the audit chain's head if it was read with the request.
        """
        previous_version = previous.version
        items = [
            *self._assignment_changes(previous, request),
            self._request_put(
                request, "version = :previous", {":previous": {"N": str(previous_version)}}
            ),
            *([self._token_burn(burnt, now)] if burnt else []),
            *(self._token_put(t) for t in tokens),
            *(self._outbox_put(o) for o in outbox),
        ]
        if previous.status in OPEN_STATUSES and request.status not in OPEN_STATUSES:
            # A decided or withdrawn request no longer counts against the open-request limit.
            items.append(
                {
                    "Update": {
                        "TableName": self._main,
                        "Key": keys.open_requests_key(person_key(request.content.email)),
                        "UpdateExpression": "ADD open_count :minus_one",
                        "ExpressionAttributeValues": {":minus_one": {"N": "-1"}},
                    }
                }
            )
        self.audit.append(event, items, head=head)

    def add_links(self, tokens: Sequence[LinkToken], outbox: Sequence[OutboxEntry]) -> None:
        """Store links and the e-mails that carry them, together (a step handed to a deputy)."""
        self._transact(
            [*(self._token_put(t) for t in tokens), *(self._outbox_put(o) for o in outbox)]
        )

    def add_delegation(
        self,
        delegation: Delegation,
        event: AuditEvent,
        over: Sequence[Delegation] = (),
        head: HeadRead | None = None,
        links: Sequence[LinkToken] = (),
        outbox: Sequence[OutboxEntry] = (),
    ) -> None:
        """Store a delegation with its audit event, and in the item of delegations in force.

        `over` are delegations already ended: dropped from that item, which keeps it small
        (their own items stay, as the record). `links` and `outbox` (the approver's notice
        and its cancel link) are written in the same transaction.
        """
        item: Item = {
            **keys.delegation_key(
                person_key(delegation.approver), delegation.starts.isoformat(), delegation.id
            ),
            "body": {"S": delegation.model_dump_json()},
        }
        put = {"Put": {"TableName": self._main, "Item": item}}
        # One attribute per delegation: adding one needs no read and two approvers delegating
        # at once write different attributes (no lost update).
        names = {"#new": keys.delegation_attribute(delegation.id)}
        names.update({f"#old{i}": keys.delegation_attribute(d.id) for i, d in enumerate(over)})
        expression = "SET #new = :body"
        if over:
            expression += " REMOVE " + ", ".join(f"#old{i}" for i in range(len(over)))
        in_force = {
            "Update": {
                "TableName": self._main,
                "Key": keys.delegations_in_force_key(),
                "UpdateExpression": expression,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {":body": {"S": delegation.model_dump_json()}},
            }
        }
        extra = [*(self._token_put(t) for t in links), *(self._outbox_put(o) for o in outbox)]
        self.audit.append(event, [put, in_force, *extra], head=head)

    def cancel_delegation(
        self,
        cancelled: Delegation,
        event: AuditEvent,
        link: LinkToken | None,
        now: datetime,
        head: HeadRead | None = None,
    ) -> None:
        """Record a cancellation in one transaction: the delegation's item (not cancelled
        before), its removal from the item in force, the cancel link burnt, the audit event."""
        key = keys.delegation_key(
            person_key(cancelled.approver), cancelled.starts.isoformat(), cancelled.id
        )
        update = {
            "Update": {
                "TableName": self._main,
                "Key": key,
                "UpdateExpression": "SET body = :body, cancelled_at = :now",
                "ConditionExpression": (
                    "attribute_exists(PK) AND attribute_not_exists(cancelled_at)"
                ),
                "ExpressionAttributeValues": {
                    ":body": {"S": cancelled.model_dump_json()},
                    ":now": {"S": now.isoformat()},
                },
            }
        }
        in_force = {
            "Update": {
                "TableName": self._main,
                "Key": keys.delegations_in_force_key(),
                "UpdateExpression": "REMOVE #d",
                "ExpressionAttributeNames": {"#d": keys.delegation_attribute(cancelled.id)},
            }
        }
        burn = [self._token_burn(link, now)] if link is not None else []
        self.audit.append(event, [update, in_force, *burn], head=head)

    def delegations_in_force(self) -> tuple[Delegation, ...]:
        """Return every delegation not over yet, whoever the approver (one GetItem)."""
        return self._delegations_from(self._get(keys.delegations_in_force_key()))

    @staticmethod
    def _delegations_from(item: Item | None) -> tuple[Delegation, ...]:
        prefix = keys.delegation_attribute("")
        return tuple(
            Delegation.model_validate_json(value["S"])
            for name, value in (item or {}).items()
            if name.startswith(prefix)
        )

    def delegations_of(self, approver: str) -> list[Delegation]:
        """Return an approver's delegations (one Query)."""
        items = self._query_all(f"DELEGATION#{person_key(approver)}")
        return [Delegation.model_validate_json(i["body"]["S"]) for i in items]

    def pending_steps_of(self, approver: str) -> list[tuple[str, int]]:
        """Return (request id, step) of every step waiting for an approver (one Query)."""
        items = self._query_all(f"ASSIGN#{person_key(approver)}")
        return [(i["request_id"]["S"], int(i["step"]["N"])) for i in items]

    def _query_all(self, partition: str) -> list[Item]:
        found: list[Item] = []
        kwargs: Item = {
            "TableName": self._main,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
        }
        with _aws_errors():
            while True:
                page = self._client.query(**kwargs)
                found.extend(page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return found
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def mark_outbox_sent(self, outbox_id: str, message_id: str, now: datetime) -> None:
        """Record a delivered e-mail and drop it from the pending index."""
        with _aws_errors():
            self._client.update_item(
                TableName=self._main,
                Key=keys.outbox_key(outbox_id),
                UpdateExpression="SET #s = :sent, message_id = :mid, sent_at = :now "
                "REMOVE GSI2PK, GSI2SK, message, lease_until",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":sent": {"S": "sent"},
                    ":mid": {"S": message_id},
                    ":now": {"S": now.isoformat()},
                },
            )

    def mark_outbox_failed(
        self, outbox_id: str, reason: str, now: datetime, retention: timedelta
    ) -> bool:
        """Mark an entry failed for good (a permanent bounce, a complaint); False if unknown.

        It expires after `retention` (DynamoDB's TTL collects it; a retry clears the expiry).
        """
        try:
            with _aws_errors():
                self._client.update_item(
                    TableName=self._main,
                    Key=keys.outbox_key(outbox_id),
                    # Listed for the officers (newest first) and kept with its message, so a
                    # retry from the console sends the same e-mail with the same link.
                    UpdateExpression="SET #s = :failed, last_error = :reason, failed_at = :now, "
                    "GSI2PK = :listing, GSI2SK = :when, expires_ttl = :ttl REMOVE lease_until",
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={
                        ":failed": {"S": "failed"},
                        ":reason": {"S": reason[:500]},
                        ":now": {"S": now.isoformat()},
                        ":listing": {"S": FAILED_OUTBOX},
                        ":when": {"S": f"{now.isoformat()}#{outbox_id}"},
                        ":ttl": {"N": str(int((now + retention).timestamp()))},
                    },
                )
        except Conflict:
            return False
        return True

    def load_outbox(self, outbox_id: str) -> OutboxEntry | None:
        """Return an outbox entry (without its message), or None."""
        item = self._get(keys.outbox_key(outbox_id))
        return OutboxEntry.model_validate_json(item["body"]["S"]) if item else None

    def outbox_status(self, outbox_id: str) -> tuple[str, str | None] | None:
        """Return an entry's status and last error, or None."""
        item = self._get(keys.outbox_key(outbox_id))
        if item is None:
            return None
        return item["status"]["S"], item.get("last_error", {}).get("S")

    def mark_outbox_attempt_failed(
        self, outbox_id: str, reason: str, now: datetime, next_due: datetime
    ) -> None:
        """Record why a delivery failed; the entry stays pending, due again at `next_due`."""
        with _aws_errors():
            self._client.update_item(
                TableName=self._main,
                Key=keys.outbox_key(outbox_id),
                UpdateExpression="SET last_error = :reason, last_attempt_at = :now, GSI2SK = :due "
                "ADD attempts :one REMOVE lease_until",
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":reason": {"S": reason[:500]},
                    ":now": {"S": now.isoformat()},
                    ":one": {"N": "1"},
                    ":due": {"S": f"{next_due.isoformat()}#{outbox_id}"},
                    ":pending": {"S": "pending"},
                },
            )

    def failed_outbox(
        self, limit: int, start: Item | None = None
    ) -> tuple[list[tuple[OutboxEntry, str, str, bool]], Item | None]:
        """Return failed deliveries, newest first: (entry, reason, when, retryable), next key."""
        kwargs: Item = {
            "TableName": self._main,
            "IndexName": "PendingOutbox",
            "KeyConditionExpression": "GSI2PK = :failed",
            "ExpressionAttributeValues": {":failed": {"S": FAILED_OUTBOX}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        with _aws_errors():
            page = self._client.query(**kwargs)
        rows = []
        for item in page.get("Items", []):
            entry = OutboxEntry.model_validate_json(item["body"]["S"])
            entry = entry.model_copy(
                update={"attempts": int(item.get("attempts", {}).get("N", "0"))}
            )
            reason = item.get("last_error", {}).get("S", "")
            when = item.get("failed_at", {}).get("S", "")
            rows.append((entry, reason, when, "message" in item or entry.event is not None))
        return rows, page.get("LastEvaluatedKey")

    def retry_outbox(self, outbox_id: str, event: AuditEvent, now: datetime) -> None:
        """Put a failed delivery back in the queue, due now, with its audit event (or Conflict)."""
        update = {
            "Update": {
                "TableName": self._main,
                "Key": keys.outbox_key(outbox_id),
                "UpdateExpression": "SET #s = :pending, GSI2PK = :queue, GSI2SK = :due, "
                "attempts = :zero REMOVE failed_at, expires_ttl",
                "ConditionExpression": "#s = :failed AND "
                "(attribute_exists(message) OR attribute_exists(kind))",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {
                    ":pending": {"S": "pending"},
                    ":failed": {"S": "failed"},
                    ":queue": {"S": "OUTBOX#pending"},
                    ":due": {"S": f"{now.isoformat()}#{outbox_id}"},
                    ":zero": {"N": "0"},
                },
            }
        }
        self.audit.append(event, [update])

    def due_outbox(self, now: datetime, limit: int) -> list[OutboxEntry]:
        """Return pending e-mails due by now, oldest first (one Query on the sparse index)."""
        with _aws_errors():
            page = self._client.query(
                TableName=self._main,
                IndexName="PendingOutbox",
                KeyConditionExpression="GSI2PK = :pending AND GSI2SK <= :now",
                ExpressionAttributeValues={
                    ":pending": {"S": "OUTBOX#pending"},
                    ":now": {"S": f"{now.isoformat()}#~"},
                },
                Limit=limit,
            )
        entries = []
        for item in page.get("Items", []):
            entry = OutboxEntry.model_validate_json(item["body"]["S"])
            message = item.get("message")
            entries.append(
                entry.model_copy(
                    update={
                        "attempts": int(item.get("attempts", {}).get("N", "0")),
                        "message": OutboxMessage.model_validate_json(message["S"])
                        if message
                        else None,
                    }
                )
            )
        return entries

    def claim_outbox(self, outbox_id: str, now: datetime, lease_seconds: int) -> bool:
        """Take an entry for one sender for a while; False if another sender holds it."""
        until = now + timedelta(seconds=lease_seconds)
        try:
            with _aws_errors():
                self._client.update_item(
                    TableName=self._main,
                    Key=keys.outbox_key(outbox_id),
                    UpdateExpression="SET lease_until = :until",
                    ConditionExpression="#s = :pending AND "
                    "(attribute_not_exists(lease_until) OR lease_until < :now)",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={
                        ":until": {"S": until.isoformat()},
                        ":now": {"S": now.isoformat()},
                        ":pending": {"S": "pending"},
                    },
                )
        except Conflict:
            return False
        return True

    def due_requests(
        self, now: datetime, limit: int, start: Item | None = None
    ) -> tuple[list[AccessRequest], Item | None]:
        """Return requests a scheduled job must look at by now, oldest due first, and the key
        of the next page (one Query; the index projects the whole item, so no further read).
        """
        kwargs: Item = {
            "TableName": self._main,
            "IndexName": "DueRequests",
            "KeyConditionExpression": "GSI7PK = :due AND GSI7SK <= :now",
            "ExpressionAttributeValues": {
                ":due": {"S": "DUE"},
                ":now": {"S": f"{keys.stamp(now)}#~"},
            },
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        with _aws_errors():
            page = self._client.query(**kwargs)
        found = [AccessRequest.model_validate_json(i["body"]["S"]) for i in page.get("Items", [])]
        return found, page.get("LastEvaluatedKey")

    def refresh_due(self, request: AccessRequest) -> None:
        """Store a request's due date again (after a policy change), if it did not change."""
        due = self._next_due(request) if self._next_due else None
        update = "SET GSI7PK = :due, GSI7SK = :when" if due is not None else "REMOVE GSI7PK, GSI7SK"
        values: Item = {":version": {"N": str(request.version)}}
        if due is not None:
            values[":due"] = {"S": "DUE"}
            values[":when"] = {"S": f"{keys.stamp(due)}#{request.id}"}
        try:
            with _aws_errors():
                self._client.update_item(
                    TableName=self._main,
                    Key=keys.request_key(request.id),
                    UpdateExpression=update,
                    ConditionExpression="version = :version",
                    ExpressionAttributeValues=values,
                )
        except Conflict:
            pass  # changed meanwhile: that write stored a fresh due date

    # ----- queries -----------------------------------------------------------------------
    def _get(self, key: Item) -> Item | None:
        with _aws_errors():
            response = self._client.get_item(TableName=self._main, Key=key, ConsistentRead=True)
        return response.get("Item")

    def load_request(self, request_id: str) -> AccessRequest | None:
        """Return a request by id, or None."""
        item = self._get(keys.request_key(request_id))
        return AccessRequest.model_validate_json(item["body"]["S"]) if item else None

    def load_link(self, token_hash: str) -> LinkToken | None:
        """Return what a link token is bound to (with its use, if burnt), or None."""
        item = self._get(keys.link_key(token_hash))
        return self._link_from(item) if item else None

    @staticmethod
    def _link_from(item: Item) -> LinkToken:
        token = LinkToken.model_validate_json(item["body"]["S"])
        if "used_at" in item:
            token = token.model_copy(
                update={"used_at": datetime.fromisoformat(item["used_at"]["S"])}
            )
        return token

    def events_for(self, request_id: str) -> list[AuditEvent]:
        """Return a request's audit events in the order they happened."""
        return [chained.event for chained in self.audit.events_for_request(request_id)]
