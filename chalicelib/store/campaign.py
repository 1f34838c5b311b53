"""The usage-policy campaign of each version: when it started, and whether it is over."""

from __future__ import annotations

from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.errors import Conflict
from . import keys
from .dynamo import DynamoTable
from .errors import translate


class CampaignStore(DynamoTable):
    """One item per usage-policy version that started a campaign."""

    def start(self, policy_version: str, now: datetime) -> tuple[datetime, bool]:
        """Return when the version's campaign started (now, the first time) and if it closed."""
        key = keys.campaign_key(policy_version)
        try:
            self._client.put_item(
                TableName=self._main,
                Item={**key, "started_at": {"S": now.isoformat()}},
                ConditionExpression="attribute_not_exists(PK)",
            )
            return now, False
        except ClientError as error:
            if translate(error).__class__ is not Conflict:
                raise translate(error) from error
        except BotoCoreError as error:
            raise translate(error) from error
        try:
            item = self._client.get_item(TableName=self._main, Key=key, ConsistentRead=True)
        except (ClientError, BotoCoreError) as error:
            raise translate(error) from error
        found = item["Item"]
        return datetime.fromisoformat(found["started_at"]["S"]), "closed_at" in found

    def close(self, policy_version: str, now: datetime) -> None:
        """Mark a campaign over (its deadline passed and every grant was dealt with)."""
        try:
            self._client.update_item(
                TableName=self._main,
                Key=keys.campaign_key(policy_version),
                UpdateExpression="SET closed_at = :now",
                ExpressionAttributeValues={":now": {"S": now.isoformat()}},
            )
        except (ClientError, BotoCoreError) as error:
            raise translate(error) from error
