"""Sign-in links and sessions in the main table (only hashes of their secrets are stored)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ..domain.models import AuditEvent
from ..domain.sessions import SESSION_ABSOLUTE_TIMEOUT, Session, SigninLink
from . import keys
from .audit import AuditLog
from .dynamo import DynamoTable, Item, aws_errors

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Sessions and links are judged in code; TTL only collects them a day after they stop working.
GARBAGE_DELAY_SECONDS = 24 * 3600


def _ttl(moment: datetime) -> dict[str, str]:
    return {"N": str(int(moment.timestamp()) + GARBAGE_DELAY_SECONDS)}


def session_writes(table: str, session: Session, replaces: str | None) -> list[Item]:
    """The transaction items that start a session and end the one it replaces, if any."""
    items: list[Item] = [
        {
            "Put": {
                "TableName": table,
                "Item": {
                    **keys.session_key(session.session_hash),
                    "body": {"S": session.model_dump_json()},
                    "last_seen_at": {"S": session.last_seen_at.isoformat()},
                    "expires_ttl": _ttl(session.created_at + SESSION_ABSOLUTE_TIMEOUT),
                },
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
    ]
    if replaces and replaces != session.session_hash:
        items.append({"Delete": {"TableName": table, "Key": keys.session_key(replaces)}})
    return items


class SessionStore(DynamoTable):
    """Store sign-in links and sessions; signing in and out are audited in the same write."""

    def __init__(self, client: DynamoDBClient, main_table: str, audit: AuditLog) -> None:
        super().__init__(client, main_table)
        self._audit = audit

    def add_signin_link(self, link: SigninLink) -> None:
        """Store a new sign-in link."""
        self._put_new(
            {
                **keys.signin_key(link.token_hash),
                "body": {"S": link.model_dump_json()},
                "expires_ttl": _ttl(link.expires_at),
            }
        )

    def load_signin_link(self, token_hash: str) -> SigninLink | None:
        """Return a sign-in link (with its use, if burnt), or None."""
        item = self._get(keys.signin_key(token_hash))
        if item is None:
            return None
        link = SigninLink.model_validate_json(item["body"]["S"])
        if "used_at" in item:
            link = link.model_copy(update={"used_at": datetime.fromisoformat(item["used_at"]["S"])})
        return link

    def open_session(
        self, link: SigninLink, session: Session, event: AuditEvent, replaces: str | None
    ) -> None:
        """Burn the link, start the session, end the one it replaces, audit: all or nothing."""
        items: list[Item] = [
            {
                "Update": {
                    "TableName": self._main,
                    "Key": keys.signin_key(link.token_hash),
                    "UpdateExpression": "SET used_at = :now",
                    "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(used_at)",
                    "ExpressionAttributeValues": {":now": {"S": session.created_at.isoformat()}},
                }
            },
            *session_writes(self._main, session, replaces),
        ]
        self._audit.append(event, items)

    def load_session(self, session_hash: str) -> Session | None:
        """Return a session with its last activity, or None (never started, or ended)."""
        item = self._get(keys.session_key(session_hash))
        if item is None:
            return None
        session = Session.model_validate_json(item["body"]["S"])
        last_seen = datetime.fromisoformat(item["last_seen_at"]["S"])
        return session.model_copy(update={"last_seen_at": last_seen})

    def touch_session(self, session_hash: str, now: datetime) -> None:
        """Record activity on a session that still exists."""
        self._update(
            Key=keys.session_key(session_hash),
            UpdateExpression="SET last_seen_at = :now",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":now": {"S": now.isoformat()}},
        )

    def drop_session(self, session_hash: str) -> None:
        """Forget a session that timed out."""
        with aws_errors():
            self._client.delete_item(TableName=self._main, Key=keys.session_key(session_hash))

    def end_session(self, session_hash: str, event: AuditEvent) -> None:
        """Sign out: delete the session server-side and audit it, in one write."""
        delete = {
            "Delete": {
                "TableName": self._main,
                "Key": keys.session_key(session_hash),
                "ConditionExpression": "attribute_exists(PK)",
            }
        }
        self._audit.append(event, [delete])
