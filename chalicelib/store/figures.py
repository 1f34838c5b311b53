"""Read what the open figures count: requests filed in a period (a Query, never a Scan)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from pydantic import ValidationError

from ..domain.models import AccessRequest
from .dynamo import DynamoTable, Item

_MARGIN = timedelta(days=1)


class FigureQueries(DynamoTable):
    """Queries on the AllRequests index (every request, sorted by filing time)."""

    def filed_between(self, start: datetime, end: datetime) -> Iterator[AccessRequest]:
        """Yield the requests filed in [start, end), oldest first, page by page."""
        # The sort key holds the filing instant as written (with its own UTC offset), so the
        # Query reads a day more on each side and the exact bounds are judged in code.
        request: Item = {
            "TableName": self._main,
            "IndexName": "AllRequests",
            "KeyConditionExpression": "GSI4PK = :pk AND GSI1SK BETWEEN :a AND :b",
            "ExpressionAttributeValues": {
                ":pk": {"S": "REQUESTS"},
                ":a": {"S": (start - _MARGIN).isoformat()},
                ":b": {"S": (end + _MARGIN).isoformat()},
            },
        }
        for item in self._query_pages(request):
            try:
                found = AccessRequest.model_validate_json(item["body"]["S"])
            except (KeyError, ValidationError):
                continue  # unreadable: not counted (the console shows it)
            if start <= found.created_at < end:
                yield found
