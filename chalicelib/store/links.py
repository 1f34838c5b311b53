"""E-mail link tokens (stored under their SHA-256 only) and the one read a link needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ..domain.delegation import Delegation
from ..domain.models import AccessRequest, Lang, LinkToken
from . import keys
from .audit import HeadRead
from .audit_check import head_from_item
from .dynamo import DynamoTable, Item, key_of
from .lang_choices import lang_choices_from

if TYPE_CHECKING:
    from .audit import AuditLog
    from .limits import RateCounters

# How long a used or expired link record is kept before DynamoDB's TTL may collect it.
LINK_RETENTION_SECONDS = 90 * 24 * 3600


@dataclass(frozen=True)
class LinkRead:
    """What resolving an e-mail link needs, read in one BatchGetItem.

    `request` is None when the request does not exist; `head` and `delegations` are None
    when they were not asked for.
    """

    invalid_links: int
    link: LinkToken | None
    request: AccessRequest | None
    head: HeadRead | None
    delegations: tuple[Delegation, ...] | None
    # Each person's chosen language (for the e-mails the change composes); {} if not asked.
    langs: dict[str, Lang] = field(default_factory=dict)


def delegations_from(item: Item | None) -> tuple[Delegation, ...]:
    """Return the delegations held in the item of delegations in force (none if absent)."""
    prefix = keys.delegation_attribute("")
    return tuple(
        Delegation.model_validate_json(value["S"])
        for name, value in (item or {}).items()
        if name.startswith(prefix)
    )


def link_from(item: Item) -> LinkToken:
    """Return the link token a stored item holds, with its use if it was burnt."""
    token = LinkToken.model_validate_json(item["body"]["S"])
    if "used_at" in item:
        token = token.model_copy(update={"used_at": datetime.fromisoformat(item["used_at"]["S"])})
    return token


class LinkItems(DynamoTable):
    """Write, burn and read link tokens; count the unknown or forged ones per source."""

    audit: AuditLog
    limits: RateCounters

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

    def load_link(self, token_hash: str) -> LinkToken | None:
        """Return what a link token is bound to (with its use, if burnt), or None."""
        item = self._get(keys.link_key(token_hash))
        return link_from(item) if item else None

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
        request_id: str,
        *,
        head: bool,
        delegations: bool,
    ) -> LinkRead:
        """Read a link with all a state change from it needs, in one round trip.

        The source's invalid-link counter, the link, its request, the audit chain's head, the
        delegations in force and the people's chosen languages: one BatchGetItem, strongly
        consistent like the GetItem calls it replaces.
        """
        wanted = {
            "counter": keys.invalid_links_key(source, now),
            "link": keys.link_key(token_hash),
            "request": keys.request_key(request_id),
        }
        if head:
            wanted["head"] = keys.audit_head_key(self.audit.chain)
        if delegations:
            wanted["delegations"] = keys.delegations_in_force_key()
            wanted["langs"] = keys.language_choices_key()
        found = self._batch_get(list(wanted.values()))

        def item(name: str) -> Item | None:
            key = wanted.get(name)
            return found.get(key_of(key)) if key else None

        counter, link_item, request_item = item("counter"), item("link"), item("request")
        return LinkRead(
            invalid_links=int(counter["attempts"]["N"]) if counter else 0,
            link=link_from(link_item) if link_item else None,
            request=AccessRequest.model_validate_json(request_item["body"]["S"])
            if request_item
            else None,
            head=HeadRead(head_from_item(item("head"))) if head else None,
            delegations=delegations_from(item("delegations")) if delegations else None,
            langs=lang_choices_from(item("langs")),
        )
