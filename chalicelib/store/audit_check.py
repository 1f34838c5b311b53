"""Checking the audit chain: walk every event from the table and judge it (domain/audit_chain)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pydantic import ValidationError

from ..domain.audit_chain import ChainLink, Problem, StoredEvent, Verdict, verify_chain
from ..domain.models import AuditEvent
from . import keys
from .dynamo import DynamoTable, Item

_INDEX_ATTRIBUTES = ("GSISK", "GSI1PK", "GSI2PK", "GSI3PK", "action", "actor", "at", "request_id")


def head_from_item(item: Item | None) -> ChainLink | None:
    """Return the head stored in a head item (None: no item, the chain is empty)."""
    if item is None:
        return None
    return ChainLink(seq=int(item["seq"]["N"]), hash=item["hash"]["S"])


class AuditCheck(DynamoTable):
    """Walk one chain of the audit table and verify it against its head."""

    _audit: str
    chain: str

    def head(self) -> ChainLink | None:
        """Return the chain's last position and hash (strongly consistent), None if empty."""
        return head_from_item(self._get(keys.audit_head_key(self.chain)))

    def _stored(self, item: Item) -> StoredEvent:
        body = item.get("body", {}).get("S", "")
        seq = int(item["seq"]["N"]) if "seq" in item else None
        position = keys.seq_of(item["SK"]["S"])
        index_ok = False
        try:
            event = AuditEvent.model_validate_json(body)
            expected = keys.audit_event_index(
                seq or 0, event.at, event.action, event.actor, event.request_id
            )
            index_ok = all(item.get(name) == expected.get(name) for name in _INDEX_ATTRIBUTES)
        except ValidationError:
            pass
        return StoredEvent(
            position=position,
            key=item["SK"]["S"],
            seq=seq,
            prev=item.get("prev", {}).get("S", ""),
            hash=item.get("hash", {}).get("S", ""),
            body=body,
            index_ok=index_ok,
        )

    def _walk(self, key: str, values: Item, limit: int | None = None) -> Iterator[StoredEvent]:
        kwargs: Item = {
            "TableName": self._audit,
            "KeyConditionExpression": key,
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.chain_partition(self.chain)},
                **values,
            },
            "ConsistentRead": True,
        }
        if limit:
            # One page only: the caller wants the first items, not the whole partition.
            kwargs["Limit"] = limit
            items: Iterator[Item] = iter(self._query_page(kwargs)[0])
        else:
            items = self._query_pages(kwargs)
        yield from (self._stored(item) for item in items)

    def verify(
        self, anchor: ChainLink | None = None, observe: Callable[[StoredEvent], None] | None = None
    ) -> Verdict:
        """Walk the whole chain; say "intact, N events, last hash ..." or the first bad event.

        `observe`, when given, sees each event walked (the anchored check reads the chain in
        this one walk). The check runs against the head read first, so events appended
        meanwhile by the app are left for the next check; an item beyond that head while the
        head has not moved was not written by the app.
        """
        head = self.head()
        if head is None:
            return verify_chain(self._walk("PK = :pk", {}), None, anchor)
        last_key = {":last": keys.audit_event_key(self.chain, head.seq)["SK"]}
        walked = self._walk("PK = :pk AND SK <= :last", last_key)
        if observe is not None:
            walked = _observed(walked, observe)
        verdict = verify_chain(walked, head, anchor)
        if not verdict.intact:
            return verdict
        beyond = next(self._walk("PK = :pk AND SK > :last", last_key, limit=1), None)
        if beyond is not None and self.head() == head:
            detail = f"unexpected item {beyond.key!r} after the head (event {head.seq})"
            return Verdict(head.seq, None, Problem(head.seq + 1, "forged", detail))
        return verdict


def _observed(
    events: Iterator[StoredEvent], observe: Callable[[StoredEvent], None]
) -> Iterator[StoredEvent]:
    for event in events:
        observe(event)
        yield event
