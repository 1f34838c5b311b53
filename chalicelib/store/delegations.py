"""Delegations: one item each (the record) and one item holding every delegation in force."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..domain.delegation import Delegation
from ..domain.models import AuditEvent, LinkToken, OutboxEntry
from ..domain.people import person_key
from . import keys
from .audit import HeadRead
from .dynamo import Item
from .links import LinkItems, delegations_from
from .outbox import OutboxStore


def _delegation_key(delegation: Delegation) -> Item:
    return keys.delegation_key(
        person_key(delegation.approver), delegation.starts.isoformat(), delegation.id
    )


class DelegationStore(LinkItems, OutboxStore):
    """Add, cancel and list delegations, each with its audit event in the same transaction."""

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
        item: Item = {**_delegation_key(delegation), "body": {"S": delegation.model_dump_json()}}
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
        update = {
            "Update": {
                "TableName": self._main,
                "Key": _delegation_key(cancelled),
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
        return delegations_from(self._get(keys.delegations_in_force_key()))

    def delegations_of(self, approver: str) -> list[Delegation]:
        """Return an approver's delegations (one Query)."""
        items = self._query_all(keys.partition(keys.DELEGATION, person_key(approver)))
        return [Delegation.model_validate_json(i["body"]["S"]) for i in items]
