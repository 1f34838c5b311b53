"""Sign-ins sent to the organisation's provider, and the sessions they open (main table).

An attempt is stored under the SHA-256 of the browser's attempt cookie only; it holds the
state, nonce and PKCE verifier until its callback, is marked used by one conditional write,
and stops working after its lifetime (judged in code; TTL only collects it a day later).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..domain.identity import PendingSignIn
from ..domain.models import AuditEvent, Lang
from ..domain.sessions import Session
from . import keys
from .audit import AuditLog
from .dynamo import DynamoTable
from .sessions import session_writes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

GARBAGE_DELAY_SECONDS = 24 * 3600


def _ttl(moment: datetime) -> dict[str, str]:
    return {"N": str(int(moment.timestamp()) + GARBAGE_DELAY_SECONDS)}


@dataclass(frozen=True)
class StoredAttempt:
    """A pending sign-in as read back: its language, and whether it was used."""

    pending: PendingSignIn
    lang: Lang
    used: bool


class ProviderSignInStore(DynamoTable):
    """Store sign-in attempts at the provider and open the sessions they end in."""

    def __init__(self, client: DynamoDBClient, main_table: str, audit: AuditLog) -> None:
        super().__init__(client, main_table)
        self._audit = audit

    def add_attempt(
        self, attempt_hash: str, pending: PendingSignIn, lang: Lang, expires_at: datetime
    ) -> None:
        """Store a new attempt (never over another one)."""
        self._put_new(
            {
                **keys.provider_signin_key(attempt_hash),
                "body": {"S": pending.model_dump_json()},
                "lang": {"S": lang},
                "expires_ttl": _ttl(expires_at),
            }
        )

    def load_attempt(self, attempt_hash: str) -> StoredAttempt | None:
        """Return an attempt and whether it was used, or None."""
        item = self._get(keys.provider_signin_key(attempt_hash))
        if item is None:
            return None
        lang: Lang = "en" if item["lang"]["S"] == "en" else "fr"
        return StoredAttempt(
            pending=PendingSignIn.model_validate_json(item["body"]["S"]),
            lang=lang,
            used="used_at" in item,
        )

    def use_attempt(self, attempt_hash: str, now: datetime) -> bool:
        """Mark an attempt used; False when it was used already (or is gone): one winner."""
        return self._conditional_update(
            Key=keys.provider_signin_key(attempt_hash),
            UpdateExpression="SET used_at = :now",
            ConditionExpression="attribute_exists(PK) AND attribute_not_exists(used_at)",
            ExpressionAttributeValues={":now": {"S": now.isoformat()}},
        )

    def open_session(self, session: Session, event: AuditEvent, replaces: str | None) -> None:
        """Start the session (the same item as an e-mail link's), end the one it replaces, audit."""
        self._audit.append(event, session_writes(self._main, session, replaces))
