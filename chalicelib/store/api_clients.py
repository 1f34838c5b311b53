"""Machine clients of the grants API and their per-minute call counters.

Clients share one partition (`APICLIENTS`): an organisation has a handful (one per proxy),
so the console lists them with one Query and a call reads its client with one GetItem.
Only the SHA-256 of a secret is stored. A counter item per client and clock minute caps
the calls; DynamoDB's TTL collects old counters (the key says which minute it counts).
"""

from __future__ import annotations

from datetime import datetime

from ..domain.errors import Conflict
from ..domain.grants_api import ApiClient
from . import keys
from .dynamo import DynamoTable, aws_errors

COUNTER_RETENTION_SECONDS = 600


class ApiClientStore(DynamoTable):
    """Create, read, list and revoke API clients; count their calls."""

    def create(self, api_client: ApiClient) -> None:
        """Store a new client; Conflict if the id is taken."""
        self._put_new(
            {
                **keys.api_client_key(api_client.client_id),
                "body": {"S": api_client.model_dump_json()},
            }
        )

    def get(self, client_id: str) -> ApiClient | None:
        """Return a client by id (consistent: a revocation counts from the next call)."""
        item = self._get(keys.api_client_key(client_id))
        return ApiClient.model_validate_json(item["body"]["S"]) if item else None

    def all(self) -> list[ApiClient]:
        """Return every client, revoked ones included, by id."""
        key = keys.api_client_key("")
        with aws_errors():
            response = self._client.query(
                TableName=self._main,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": key["PK"]},
            )
        return [ApiClient.model_validate_json(i["body"]["S"]) for i in response["Items"]]

    def revoke(self, api_client: ApiClient, at: datetime, by: str) -> ApiClient:
        """Mark a client revoked (once: Conflict when it already was)."""
        revoked = api_client.model_copy(update={"revoked_at": at, "revoked_by": by})
        with aws_errors():
            self._client.put_item(
                TableName=self._main,
                Item={
                    **keys.api_client_key(api_client.client_id),
                    "body": {"S": revoked.model_dump_json()},
                    "revoked_at": {"S": at.isoformat()},
                },
                ConditionExpression="attribute_exists(PK) AND attribute_not_exists(revoked_at)",
            )
        return revoked

    def count_call(self, client_id: str, now: datetime, limit: int) -> bool:
        """Count one call in this minute; False (nothing counted) once `limit` is reached."""
        try:
            with aws_errors():
                self._client.update_item(
                    TableName=self._main,
                    Key=keys.api_rate_key(client_id, now),
                    UpdateExpression="ADD calls :one SET expires_ttl = :ttl",
                    ConditionExpression="attribute_not_exists(calls) OR calls < :limit",
                    ExpressionAttributeValues={
                        ":one": {"N": "1"},
                        ":limit": {"N": str(limit)},
                        ":ttl": {"N": str(int(now.timestamp()) + COUNTER_RETENTION_SECONDS)},
                    },
                )
        except Conflict:
            return False
        return True
