"""What the console and "my requests" list: each page is ONE Query on an index, never a Scan.

Indexes (see docs/data-model.md): `ByRequester`, `ByStatus` and `AllRequests` sort requests
by creation; `WaitingSteps` lists the steps waiting for a person or a role, oldest first;
`Grants` lists approved requests by end of access. Filters that no index keys (platform,
level, organisation, ...) are FilterExpressions of that same Query, so a filtered page may
hold fewer rows than the page size; the cursor then leads to the next one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from ..domain.models import AccessRequest, RequestStatus
from . import keys
from .dynamo import DynamoTable, Item, Page, Period, every_item, index_query

QUEUE_LIMIT = 200


@dataclass(frozen=True, kw_only=True)  # as AuditFilter: fields by name only
class RequestFilter(Period):
    """Filters of the requests and grants pages: a period and these fields; empty ones do not."""

    status: RequestStatus | None = None
    platform: str | None = None
    level: str | None = None
    organisation: str | None = None
    requester: str | None = None


class ConsoleQueries(DynamoTable):
    """Read-only listings of requests for the console and for "my requests"."""

    def _query(
        self, query: Item, start: Item | None = None
    ) -> tuple[list[AccessRequest], Item | None]:
        items, next_key = self._query_page(query, start)
        return [AccessRequest.model_validate_json(i["body"]["S"]) for i in items], next_key

    @staticmethod
    def _filters(wanted: RequestFilter, query: Item, *, keyed: set[str]) -> None:
        """Add the FilterExpression for what the chosen index does not key."""
        parts: list[str] = []
        values: Item = query["ExpressionAttributeValues"]
        names: dict[str, str] = {}
        if wanted.status and "status" not in keyed:
            parts.append("#status = :status")
            names["#status"] = "status"
            values[":status"] = {"S": wanted.status.value}
        if wanted.platform:
            parts.append("contains(platforms, :platform)")
            values[":platform"] = {"S": wanted.platform}
        if wanted.level:
            parts.append("#level = :level")
            names["#level"] = "level"
            values[":level"] = {"S": wanted.level}
        if wanted.organisation:
            parts.append("contains(organisation, :organisation)")
            values[":organisation"] = {"S": wanted.organisation.casefold()}
        if wanted.requester and "requester" not in keyed:
            parts.append("requester = :requester")
            values[":requester"] = {"S": wanted.requester}
        if "created" not in keyed:
            if wanted.since:
                parts.append("created_at >= :since")
                values[":since"] = {"S": wanted.since.isoformat()}
            if wanted.until:
                parts.append("created_at < :until")
                values[":until"] = {"S": wanted.until.isoformat()}
        if parts:
            query["FilterExpression"] = " AND ".join(parts)
        if names:
            query["ExpressionAttributeNames"] = names

    def requests_page(
        self, wanted: RequestFilter, limit: int, start: Item | None = None
    ) -> Page[AccessRequest]:
        """Return one page of requests, newest first: exactly one Query."""
        if wanted.requester:
            index, key, keyed = "ByRequester", "GSI1PK = :pk", {"requester", "created"}
            values: Item = {":pk": {"S": keys.partition(keys.REQUESTER, wanted.requester)}}
        elif wanted.status:
            index, key, keyed = "ByStatus", "GSI3PK = :pk", {"status", "created"}
            values = {":pk": {"S": keys.partition(keys.STATUS, wanted.status.value)}}
        else:
            index, key, keyed = "AllRequests", "GSI4PK = :pk", {"created"}
            values = {":pk": {"S": keys.ALL_REQUESTS}}
        key += wanted.key_condition("GSI1SK", values, datetime.isoformat)
        query = index_query(self._main, index, key, values, limit=limit, newest=True)
        self._filters(wanted, query, keyed=keyed)
        requests, next_key = self._query(query, start)
        return Page(requests, next_key)

    def requests_between(self, since: datetime, until: datetime) -> Iterator[AccessRequest]:
        """Yield every request created in a period (the dashboard), page by page."""
        period = RequestFilter(since=since, until=until)
        return every_item(lambda start: self.requests_page(period, 500, start))

    def waiting_for(self, who: str) -> list[AccessRequest]:
        """Requests whose current step waits for a person (an address) or a role, oldest first.

        `who` is an address for manager steps, `ROLE#<role>` for a group such as security.
        """
        values = {":pk": {"S": keys.partition(keys.WAITING, who)}}
        query = index_query(
            self._main, "WaitingSteps", "GSI5PK = :pk", values, limit=QUEUE_LIMIT, newest=False
        )
        requests, _ = self._query(query)
        return requests

    def requests_of(self, email: str, limit: int = 100) -> list[AccessRequest]:
        """A requester's own requests, newest first."""
        return self.requests_page(RequestFilter(requester=email), limit).items

    def grants_page(
        self, wanted: RequestFilter, now: datetime, limit: int, start: Item | None = None
    ) -> Page[AccessRequest]:
        """Return one page of active grants, the soonest to end first: exactly one Query."""
        key = "GSI6PK = :pk AND GSI6SK >= :now"
        values = {":pk": {"S": keys.GRANTS}, ":now": {"S": now.isoformat()}}
        query = index_query(self._main, "Grants", key, values, limit=limit, newest=False)
        self._filters(wanted, query, keyed={"status"})
        requests, next_key = self._query(query, start)
        return Page(requests, next_key)

    def all_grants(self, wanted: RequestFilter, now: datetime) -> Iterator[AccessRequest]:
        """Yield every active grant matching the filters (exports)."""
        return every_item(lambda start: self.grants_page(wanted, now, 500, start))
