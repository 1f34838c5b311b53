"""The usage-policy campaign of each version: when it started, and whether it is over."""

from __future__ import annotations

from datetime import datetime

from ..domain.errors import Conflict
from . import keys
from .dynamo import DynamoTable


class CampaignStore(DynamoTable):
    """One item per usage-policy version that started a campaign."""

    def start(self, policy_version: str, now: datetime) -> tuple[datetime, bool]:
        """Return when the version's campaign started (now, the first time) and if it closed."""
        key = keys.campaign_key(policy_version)
        try:
            self._put_new({**key, "started_at": {"S": now.isoformat()}})
            return now, False
        except Conflict:
            pass  # started before: read when, and whether it closed
        found = self._get(key)
        assert found is not None  # campaign items are never deleted
        return datetime.fromisoformat(found["started_at"]["S"]), "closed_at" in found

    def close(self, policy_version: str, now: datetime) -> None:
        """Mark a campaign over (its deadline passed and every grant was dealt with)."""
        self._update(
            Key=keys.campaign_key(policy_version),
            UpdateExpression="SET closed_at = :now",
            ExpressionAttributeValues={":now": {"S": now.isoformat()}},
        )
