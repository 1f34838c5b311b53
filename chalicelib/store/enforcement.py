"""Whether each grant's change reached its groups, and the lasting failures officers retry.

One item per grant, group and person (`ENFORCEMENT#<request id>`, `GROUP#<group>#<e-mail>`):
a Query on the partition gives the console's grant detail ("applied since ..."). A failed
item is also in the `PendingOutbox` index under `ENFORCEMENT#failed`, so one Query lists the
failures beside the failed e-mails; applying the change again removes it from there.
"""

from __future__ import annotations

from datetime import datetime

from ..domain.enforcement import AccessState
from . import keys
from .dynamo import DynamoTable, Item, aws_errors

FAILURES_LIMIT = 50


def _state_of(item: Item) -> AccessState:
    return AccessState(
        request_id=item["request_id"]["S"],
        group=item["group"]["S"],
        email=item["email"]["S"],
        action="add" if item["action"]["S"] == "add" else "remove",
        state="failed" if item["state"]["S"] == "failed" else "applied",
        since=datetime.fromisoformat(item["since"]["S"]),
        attempts=int(item["attempts"]["N"]),
        reason=item["reason"]["S"] if "reason" in item else None,
    )


class EnforcementStore(DynamoTable):
    """Reads and writes the enforcement state items of the main table."""

    def record(self, state: AccessState) -> None:
        """Store one grant's state in one group (replacing the previous one)."""
        item: Item = {
            **keys.access_state_key(state.request_id, state.group, state.email),
            "request_id": {"S": state.request_id},
            "group": {"S": state.group},
            "email": {"S": state.email},
            "action": {"S": state.action},
            "state": {"S": state.state},
            "since": {"S": state.since.isoformat()},
            "attempts": {"N": str(state.attempts)},
        }
        if state.reason:
            item["reason"] = {"S": state.reason[:500]}
        if state.state == "failed":
            item.update(keys.failed_enforcement_index(state.since, state.request_id))
        with aws_errors():
            self._client.put_item(TableName=self._main, Item=item)

    def states_of(self, request_id: str) -> list[AccessState]:
        """Return a grant's state in each of its groups (the console's grant detail)."""
        key = keys.access_state_key(request_id, "", "")
        with aws_errors():
            response = self._client.query(
                TableName=self._main,
                KeyConditionExpression="PK = :pk AND begins_with(SK, :group)",
                ExpressionAttributeValues={
                    ":pk": key["PK"],
                    ":group": {"S": keys.partition(keys.GROUP, "")},
                },
                ConsistentRead=True,
            )
        return [_state_of(item) for item in response["Items"]]

    def state(self, request_id: str, group: str, email: str) -> AccessState | None:
        """Return one grant's state in one group for one person, if recorded."""
        with aws_errors():
            response = self._client.get_item(
                TableName=self._main,
                Key=keys.access_state_key(request_id, group, email),
                ConsistentRead=True,
            )
        return _state_of(response["Item"]) if "Item" in response else None

    def failures(self, limit: int = FAILURES_LIMIT) -> list[AccessState]:
        """Return the lasting failures, newest first: ONE Query on the PendingOutbox index."""
        with aws_errors():
            response = self._client.query(
                TableName=self._main,
                IndexName="PendingOutbox",
                KeyConditionExpression="GSI2PK = :pk",
                ExpressionAttributeValues={":pk": {"S": keys.ENFORCEMENT_FAILED}},
                ScanIndexForward=False,
                Limit=limit,
            )
        return [_state_of(item) for item in response["Items"]]
