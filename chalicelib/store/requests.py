"""Requests, link tokens, outbox entries and audit events in DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.models import AccessRequest, AuditEvent, LinkToken, OutboxEntry
from . import keys
from .audit import AuditLog
from .console import ConsoleQueries
from .errors import translate
from .sessions import SessionStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

Item = dict[str, Any]
# How long a used or expired link record is kept before DynamoDB's TTL may collect it.
LINK_RETENTION_SECONDS = 90 * 24 * 3600


@contextmanager
def _aws_errors() -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise translate(error) from error


class RequestStore:
    """The persistence port of the use cases, backed by the main and audit tables."""

    def __init__(self, client: DynamoDBClient, main_table: str, audit_table: str) -> None:
        self._client = client
        self._main = main_table
        self._audit = audit_table
        self.audit = AuditLog(client, main_table, audit_table)
        self.sessions = SessionStore(client, main_table, self.audit)
        self.console = ConsoleQueries(client, main_table)

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
        item: Item = {
            **keys.outbox_key(entry.id),
            "status": {"S": entry.status},
            "body": {"S": entry.model_dump_json()},
            # Sparse index of what still has to be delivered.
            "GSI2PK": {"S": "OUTBOX#pending"},
            "GSI2SK": {"S": f"{entry.created_at.isoformat()}#{entry.id}"},
        }
        return {
            "Put": {
                "TableName": self._main,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    def _transact(self, items: Sequence[Item]) -> None:
        writes: list[TransactWriteItemTypeDef] = list(items)  # type: ignore[arg-type]
        with _aws_errors():
            self._client.transact_write_items(TransactItems=writes)

    # ----- commands ----------------------------------------------------------------------
    def create_request(
        self,
        request: AccessRequest,
        event: AuditEvent,
        tokens: Sequence[LinkToken],
        outbox: Sequence[OutboxEntry],
    ) -> None:
        """Store a new request with its first audit event, links and e-mails, all or nothing."""
        items = [
            self._request_put(request, "attribute_not_exists(PK)", {}),
            *(self._token_put(t) for t in tokens),
            *(self._outbox_put(o) for o in outbox),
        ]
        self.audit.append(event, items)
        self.audit.note_policy_version(request.content.policy_version, request.created_at)

    def apply_transition(
        self,
        previous_version: int,
        request: AccessRequest,
        event: AuditEvent,
        burnt: LinkToken | None,
        now: datetime,
        tokens: Sequence[LinkToken] = (),
        outbox: Sequence[OutboxEntry] = (),
    ) -> None:
        """Write a state change as one transaction, conditioned on the version that was read.

        `burnt` is the e-mail link used, if any (a decision in the console burns none).
        """
        items = [
            self._request_put(
                request, "version = :previous", {":previous": {"N": str(previous_version)}}
            ),
            *([self._token_burn(burnt, now)] if burnt else []),
            *(self._token_put(t) for t in tokens),
            *(self._outbox_put(o) for o in outbox),
        ]
        self.audit.append(event, items)

    def add_link(self, token: LinkToken) -> None:
        """Store one more read-only link (a status link in a later e-mail)."""
        with _aws_errors():
            self._client.put_item(**self._token_put(token)["Put"])

    def mark_outbox_sent(self, outbox_id: str, message_id: str, now: datetime) -> None:
        """Record a delivered e-mail and drop it from the pending index."""
        with _aws_errors():
            self._client.update_item(
                TableName=self._main,
                Key=keys.outbox_key(outbox_id),
                UpdateExpression="SET #s = :sent, message_id = :mid, sent_at = :now "
                "REMOVE GSI2PK, GSI2SK",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":sent": {"S": "sent"},
                    ":mid": {"S": message_id},
                    ":now": {"S": now.isoformat()},
                },
            )

    def mark_outbox_attempt_failed(self, outbox_id: str, reason: str, now: datetime) -> None:
        """Record why a delivery failed; the entry stays pending for a later sweep."""
        with _aws_errors():
            self._client.update_item(
                TableName=self._main,
                Key=keys.outbox_key(outbox_id),
                UpdateExpression="SET last_error = :reason, last_attempt_at = :now "
                "ADD attempts :one",
                ExpressionAttributeValues={
                    ":reason": {"S": reason[:500]},
                    ":now": {"S": now.isoformat()},
                    ":one": {"N": "1"},
                },
            )

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
        if item is None:
            return None
        token = LinkToken.model_validate_json(item["body"]["S"])
        if "used_at" in item:
            token = token.model_copy(
                update={"used_at": datetime.fromisoformat(item["used_at"]["S"])}
            )
        return token

    def events_for(self, request_id: str) -> list[AuditEvent]:
        """Return a request's audit events in the order they happened."""
        return [chained.event for chained in self.audit.events_for_request(request_id)]
