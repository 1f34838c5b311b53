"""Awareness passes and usage-policy acknowledgements per person, each audited in its write."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import ValidationError

from ..domain.awareness import Acknowledgement, Completion
from ..domain.models import AuditEvent
from . import keys
from .audit import AuditLog
from .dynamo import DynamoTable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class TrustStore(DynamoTable):
    """What people did to be trusted: passes of the module, acknowledgements of the policy."""

    def __init__(self, client: DynamoDBClient, main_table: str, audit: AuditLog) -> None:
        super().__init__(client, main_table)
        self._audit = audit

    def record_pass(self, completion: Completion, event: AuditEvent) -> None:
        """Store a pass as the person's latest and as one counted pass, with its audit event."""
        body = {"S": completion.model_dump_json()}
        person, at = completion.person, completion.passed_at
        latest = {
            "Put": {"TableName": self._main, "Item": {**keys.awareness_key(person), "body": body}}
        }
        counted = {
            "Put": {
                "TableName": self._main,
                "Item": {
                    **keys.awareness_pass_key(person, at),
                    **keys.awareness_pass_index(person, at),
                    "body": body,
                },
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
        self._audit.append(event, [latest, counted])

    def latest_pass(self, person: str) -> Completion | None:
        """Return a person's latest pass of the module (any version), if any."""
        item = self._get(keys.awareness_key(person))
        if item is None:
            return None
        try:
            return Completion.model_validate_json(item["body"]["S"])
        except (KeyError, ValidationError):
            return None  # unreadable: treated as not trained (the safe side)

    def passes_between(self, start: datetime, end: datetime) -> int:
        """Count the passes recorded in [start, end) (a Query on the ByRequester index)."""
        return self._count(
            {
                "TableName": self._main,
                "IndexName": "ByRequester",
                "KeyConditionExpression": "GSI1PK = :pk AND GSI1SK BETWEEN :a AND :b",
                "ExpressionAttributeValues": {
                    ":pk": {"S": "AWARENESS_PASSES"},
                    ":a": {"S": keys.stamp(start)},
                    ":b": {"S": keys.stamp(end)},
                },
            }
        )

    def record_acknowledgement(self, ack: Acknowledgement, event: AuditEvent) -> None:
        """Store an acknowledgement of one policy version with its audit event (once: Conflict)."""
        put = {
            "Put": {
                "TableName": self._main,
                "Item": {
                    **keys.acknowledgement_key(ack.person, ack.policy_version),
                    "body": {"S": ack.model_dump_json()},
                },
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
        self._audit.append(event, [put])

    def acknowledgement(self, person: str, policy_version: str) -> Acknowledgement | None:
        """Return a person's acknowledgement of a policy version, if they gave one."""
        item = self._get(keys.acknowledgement_key(person, policy_version))
        if item is None:
            return None
        try:
            return Acknowledgement.model_validate_json(item["body"]["S"])
        except (KeyError, ValidationError):
            return None
