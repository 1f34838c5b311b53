"""With 20,000 requests (and their audit events) stored, the requests page and the audit page
each make exactly one DynamoDB Query per page, and never a Scan (calls are counted)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import aws
from chalicelib.domain.audit_chain import ChainLink, next_link
from chalicelib.domain.models import AuditEvent, RequestStatus
from chalicelib.domain.submission import validate_submission
from chalicelib.domain.workflow import new_request
from chalicelib.service.context import get_services
from chalicelib.store import keys
from tests.conftest import valid_form
from tests.integration.conftest import AUDIT, MAIN, html
from tests.integration.people import OFFICER, get, sign_in

pytestmark = pytest.mark.integration
REQUESTS = 20_000
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
STATUSES = (RequestStatus.PENDING_CONFIRMATION, RequestStatus.APPROVED, RequestStatus.REFUSED)


def _batches(items: list[dict[str, Any]], table: str) -> None:
    dynamodb = boto3.client("dynamodb")
    for start in range(0, len(items), 25):
        chunk = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={table: chunk})


def seed(count: int) -> None:
    """Store `count` requests and one chained "submitted" event each, with batch writes
    (moto copies a whole table for each transaction: seeding one by one would take minutes)."""
    services = get_services()
    store = services.store
    content = validate_submission(valid_form(), services.policy).content
    assert content is not None
    template = new_request("0" * 24, content, services.policy, "fr", T0)
    requests, events = [], []
    head: ChainLink | None = store.audit.head()
    for n in range(count):
        at = T0 + timedelta(minutes=n)
        status = STATUSES[n % 3]
        request = template.model_copy(
            update={
                "id": f"{n:024d}",
                "created_at": at,
                "status": status,
                "access_until": at + timedelta(days=3650)
                if status == RequestStatus.APPROVED
                else None,
                "content": content.model_copy(
                    update={
                        "email": f"agent{n % 400}@mcn.gouv.qc.ca",
                        "platforms": ("x",) if n % 2 else ("linkedin", "youtube"),
                    }
                ),
            }
        )
        requests.append(store._request_put(request, "attribute_not_exists(PK)", {})["Put"]["Item"])
        event = AuditEvent(
            request_id=request.id,
            event_id=f"e{n}",
            at=at,
            action="submitted",
            actor=request.content.email,
            via="form",
        )
        body = event.model_dump_json()
        head, prev = next_link(head, body)
        events.append(store.audit._event_put(event, body, head, prev)["Put"]["Item"])
    _batches(requests, MAIN)
    _batches(events, AUDIT)
    assert head is not None
    boto3.client("dynamodb").put_item(
        TableName=MAIN,
        Item={
            **keys.audit_head_key("main"),
            "seq": {"N": str(head.seq)},
            "hash": {"S": head.hash},
            "at": {"S": keys.stamp(T0)},
        },
    )


@pytest.fixture
def calls(client: Client) -> Iterator[list[str]]:
    """Every DynamoDB operation the app makes, by name, from when the fixture starts."""
    made: list[str] = []

    def count(model: Any, **_: Any) -> None:
        made.append(model.name)

    aws.dynamodb().meta.events.register("before-call.dynamodb", count)
    yield made
    aws.dynamodb().meta.events.unregister("before-call.dynamodb", count)


def references(page: str) -> list[str]:
    return re.findall(r'href="/console/requests/([0-9]{24})"', page)


def next_page(page: str) -> str:
    found = re.search(r'href="(\?[^"]*page=[^"]+)" rel="next"', page)
    assert found, "no next page"
    return found.group(1).replace("&amp;", "&")


def test_requests_and_audit_pages_are_one_query_each_at_20000_requests(
    client: Client, calls: list[str]
) -> None:
    cookie = sign_in(client, OFFICER)  # signing in writes: do it while the tables are small
    seed(REQUESTS)

    def one_query(path: str) -> str:
        calls.clear()
        response = get(client, path, cookie)
        assert response.status_code == 200, path
        assert calls.count("Query") == 1, (path, calls)
        assert "Scan" not in calls, (path, calls)
        return html(response)

    # All requests, newest first, 50 a page; the next page continues where the first stopped.
    first = one_query("/console/requests")
    newest = [f"{n:024d}" for n in range(REQUESTS - 1, REQUESTS - 51, -1)]
    assert references(first) == newest
    second = one_query("/console/requests" + next_page(first))
    assert references(second) == [f"{n:024d}" for n in range(REQUESTS - 51, REQUESTS - 101, -1)]

    # Filtered by status (an index key) and by platform (a filter of the same Query).
    approved = one_query("/console/requests?status=approved&platform=x")
    assert references(approved) and all(
        int(r) % 3 == 1 and int(r) % 2 for r in references(approved)
    )

    # The audit log: newest first, 50 a page, then the next page.
    audit = one_query("/console/audit")
    seqs = [int(n) for n in re.findall(r"<tr>\s*<td>(\d+)</td>", audit)]
    # The officer's sign-in (today) comes first; then the seeded events, newest first.
    assert len(seqs) == 50 and seqs[0] == 1
    assert seqs[1:] == list(range(REQUESTS + 1, REQUESTS - 48, -1))
    later = one_query("/console/audit" + next_page(audit))
    later_seqs = [int(n) for n in re.findall(r"<tr>\s*<td>(\d+)</td>", later)]
    assert later_seqs == list(range(REQUESTS - 48, REQUESTS - 98, -1))
