"""Outbox entries: e-mails and bus events written with a change, delivered at least once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..domain.models import AuditEvent, OutboxEntry, OutboxMessage
from . import keys
from .dynamo import DynamoTable, Item, index_query

if TYPE_CHECKING:
    from .audit import AuditLog

# Seconds before the sweep considers a new e-mail (the request that wrote it sends it first).
OUTBOX_GRACE_SECONDS = 120
# Partition (in the PendingOutbox index) of deliveries that failed for good.
FAILED_OUTBOX = keys.OUTBOX_FAILED
_STATUS = {"#s": "status"}


def _attempts(item: Item) -> int:
    return int(item.get("attempts", {}).get("N", "0"))


def _change(outbox_id: str, expression: str, condition: str | None, values: Item) -> Item:
    """The arguments of an UpdateItem on an outbox entry (its status is named `#s`)."""
    update: Item = {
        "Key": keys.outbox_key(outbox_id),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": _STATUS,
        "ExpressionAttributeValues": values,
    }
    if condition:
        update["ConditionExpression"] = condition
    return update


class OutboxStore(DynamoTable):
    """Write, claim, mark and list outbox entries (the PendingOutbox index)."""

    audit: AuditLog

    def _outbox_put(self, entry: OutboxEntry) -> Item:
        # The sweep looks at an entry only after a grace period: the request that wrote it
        # sends it right away, and a sweep running meanwhile must not send it a second time.
        due = entry.created_at + timedelta(seconds=OUTBOX_GRACE_SECONDS)
        item: Item = {
            **keys.outbox_key(entry.id),
            "status": {"S": entry.status},
            "body": {"S": entry.model_dump_json(exclude={"message"})},
            # Sparse index of what still has to be delivered, by when it is due.
            "GSI2PK": {"S": keys.OUTBOX_PENDING},
            "GSI2SK": {"S": keys.sorted_by(due.isoformat(), entry.id)},
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

    def mark_outbox_sent(self, outbox_id: str, message_id: str, now: datetime) -> None:
        """Record a delivered e-mail and drop it from the pending index."""
        sent = "SET #s = :sent, message_id = :mid, sent_at = :now "
        sent += "REMOVE GSI2PK, GSI2SK, message, lease_until"
        values = {":sent": {"S": "sent"}, ":mid": {"S": message_id}, ":now": {"S": now.isoformat()}}
        self._update(**_change(outbox_id, sent, None, values))

    def mark_outbox_failed(
        self, outbox_id: str, reason: str, now: datetime, retention: timedelta
    ) -> bool:
        """Mark an entry failed for good (a permanent bounce, a complaint); False if unknown.

        It expires after `retention` (DynamoDB's TTL collects it; a retry clears the expiry).
        """
        # Listed for the officers (newest first) and kept with its message, so a retry from
        # the console sends the same e-mail with the same link.
        failed = "SET #s = :failed, last_error = :reason, failed_at = :now, "
        failed += "GSI2PK = :listing, GSI2SK = :when, expires_ttl = :ttl REMOVE lease_until"
        values = {
            ":failed": {"S": "failed"},
            ":reason": {"S": reason[:500]},
            ":now": {"S": now.isoformat()},
            ":listing": {"S": FAILED_OUTBOX},
            ":when": {"S": keys.sorted_by(now.isoformat(), outbox_id)},
            ":ttl": {"N": str(int((now + retention).timestamp()))},
        }
        return self._conditional_update(
            **_change(outbox_id, failed, "attribute_exists(PK)", values)
        )

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
        again = "SET last_error = :reason, last_attempt_at = :now, GSI2SK = :due "
        again += "ADD attempts :one REMOVE lease_until"
        values = {
            ":reason": {"S": reason[:500]},
            ":now": {"S": now.isoformat()},
            ":one": {"N": "1"},
            ":due": {"S": keys.sorted_by(next_due.isoformat(), outbox_id)},
            ":pending": {"S": "pending"},
        }
        self._update(**_change(outbox_id, again, "#s = :pending", values))

    def failed_outbox(
        self, limit: int, start: Item | None = None
    ) -> tuple[list[tuple[OutboxEntry, str, str, bool]], Item | None]:
        """Return failed deliveries, newest first: (entry, reason, when, retryable), next key."""
        values = {":failed": {"S": FAILED_OUTBOX}}
        query = index_query(
            self._main, "PendingOutbox", "GSI2PK = :failed", values, limit=limit, newest=True
        )
        items, next_key = self._query_page(query, start)
        rows = []
        for item in items:
            entry = OutboxEntry.model_validate_json(item["body"]["S"])
            entry = entry.model_copy(update={"attempts": _attempts(item)})
            reason = item.get("last_error", {}).get("S", "")
            when = item.get("failed_at", {}).get("S", "")
            rows.append((entry, reason, when, "message" in item or entry.event is not None))
        return rows, next_key

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
                "ExpressionAttributeNames": _STATUS,
                "ExpressionAttributeValues": {
                    ":pending": {"S": "pending"},
                    ":failed": {"S": "failed"},
                    ":queue": {"S": keys.OUTBOX_PENDING},
                    ":due": {"S": keys.sorted_by(now.isoformat(), outbox_id)},
                    ":zero": {"N": "0"},
                },
            }
        }
        self.audit.append(event, [update])

    def due_outbox(self, now: datetime, limit: int) -> list[OutboxEntry]:
        """Return pending e-mails due by now, oldest first (one Query on the sparse index)."""
        items, _ = self._due_page(
            "PendingOutbox", ("GSI2PK", "GSI2SK"), keys.OUTBOX_PENDING, now.isoformat(), limit
        )
        entries = []
        for item in items:
            entry = OutboxEntry.model_validate_json(item["body"]["S"])
            message = item.get("message")
            held = OutboxMessage.model_validate_json(message["S"]) if message else None
            entries.append(entry.model_copy(update={"attempts": _attempts(item), "message": held}))
        return entries

    def claim_outbox(self, outbox_id: str, now: datetime, lease_seconds: int) -> bool:
        """Take an entry for one sender for a while; False if another sender holds it."""
        until = now + timedelta(seconds=lease_seconds)
        free = "#s = :pending AND (attribute_not_exists(lease_until) OR lease_until < :now)"
        values = {
            ":until": {"S": until.isoformat()},
            ":now": {"S": now.isoformat()},
            ":pending": {"S": "pending"},
        }
        return self._conditional_update(
            **_change(outbox_id, "SET lease_until = :until", free, values)
        )
