"""Open figures: what is published matches the stored requests, withholds every count below
5, and validates against the published schema (issue 17, item 5)."""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest

from chalicelib.domain.awareness import completion_for, grade, person_ref
from chalicelib.domain.models import AccessRequest, AuditEvent, ClientInfo, RequestStatus
from chalicelib.domain.submission import validate_submission
from chalicelib.domain.workflow import confirm, decide, new_request
from chalicelib.service.awareness import record_pass
from chalicelib.service.context import Services, get_services
from chalicelib.service.open_data import open_figures, open_figures_csv, open_figures_json
from tests.conftest import PROJECT_ROOT, valid_form

pytestmark = pytest.mark.integration
SCHEMA = json.loads(
    (PROJECT_ROOT / "templates" / "static" / "open-data.schema.json").read_text("utf-8")
)
NOVEMBER = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
MANAGER, OFFICER = "jean.gestion@mcn.gouv.qc.ca", "rssi.demo@mcn.gouv.qc.ca"
CLIENT = ClientInfo(source_ip="203.0.113.9", user_agent="pytest")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def services(aws: None) -> Iterator[tuple[Services, Clock]]:
    found = get_services()
    real, clock = found.clock, Clock(NOVEMBER)
    found.clock = clock
    yield found, clock
    found.clock = real


def store(services: Services, request: AccessRequest, number: int) -> None:
    event = AuditEvent(
        request_id=request.id,
        event_id=f"e{number:07d}",
        at=request.created_at,
        action="submitted",
        actor=request.content.email,
        via="form",
    )
    limits = services.policy.rules.limits
    services.store.create_request(request, event, [], [], limits, f"198.51.100.{number}")


def build(
    services: Services, number: int, at: datetime, outcome: str, platforms: list[str],
    trained: bool = False,
) -> AccessRequest:  # fmt: skip
    """A request filed at `at` by its own requester, taken to an outcome `days` later."""
    form = valid_form(email=f"agent{number}@mcn.gouv.qc.ca", platforms=platforms)
    content = validate_submission(form, services.policy).content
    assert content is not None
    module = services.policy.awareness
    assert module is not None
    right = {q.id: q.answer for q in module.questions}
    completion = (
        completion_for(person_ref(content.email), grade(module, right), module, at)
        if trained
        else None
    )
    request = confirm(
        new_request(f"req{number:021d}", content, services.policy, "fr", at, completion), at
    )
    later = at + timedelta(days=1 + number % 4)
    if outcome == "granted":
        request = decide(request, 0, MANAGER, "approve", "", later, "link")
        if request.status != RequestStatus.APPROVED:
            request = decide(request, 1, OFFICER, "approve", "", later, "link")
    elif outcome == "refused":
        request = decide(request, 0, MANAGER, "refuse", "Non.", later, "link")
    elif outcome == "expired":
        request = request.model_copy(update={"status": RequestStatus.EXPIRED, "expired_at": later})
    store(services, request, number)
    return request


def published_numbers(value: Any) -> Iterator[int]:
    """Every integer anywhere in the published figures."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from published_numbers(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from published_numbers(inner)


def shown(count: int) -> int | str:
    return count if count >= 5 else "< 5"


def test_the_figures_match_the_stored_requests_and_withhold_small_counts(
    services: tuple[Services, Clock],
) -> None:
    found, clock = services
    ids = []
    plan = (
        [("granted", ["linkedin"], False)] * 4
        + [("granted", ["linkedin"], True)] * 3
        + [("refused", ["linkedin", "x"], False)] * 2
        + [("expired", ["x"], False)]
        + [("pending", ["linkedin"], False)]
    )
    for number, (outcome, platforms, trained) in enumerate(plan, start=1):
        at = NOVEMBER + timedelta(days=number, hours=number)
        ids.append(build(found, number, at, outcome, platforms, trained).id)
    # Outside the month (UTC bounds): the last minute of October, the first instant of December.
    build(found, 90, datetime(2026, 10, 31, 23, 59, tzinfo=UTC), "granted", ["linkedin"])
    build(found, 91, datetime(2026, 12, 1, 0, 0, tzinfo=UTC), "granted", ["linkedin"])
    module = found.policy.awareness
    assert module is not None
    right = {q.id: q.answer for q in module.questions}
    for person in range(6):
        clock.now = NOVEMBER + timedelta(days=person)
        record_pass(found, person_ref(f"p{person}@mcn.gouv.qc.ca"), grade(module, right), CLIENT)
    clock.now = datetime(2026, 12, 15, tzinfo=UTC)

    data = json.loads(open_figures_json(found))
    jsonschema.validate(data, SCHEMA)
    assert "CC BY 4.0" in data["licence"]
    assert all(n >= 5 for n in published_numbers(data["months"]))
    assert [m["month"] for m in data["months"]][-1] == "2026-11" and len(data["months"]) == 12
    november = data["months"][-1]

    # Recompute from the stored requests themselves.
    stored = [found.store.load_request(i) for i in ids]
    requests = [r for r in stored if r is not None]
    granted = [r for r in requests if r.status == RequestStatus.APPROVED]
    days = [
        (max(s.decided_at for s in r.steps if s.decided_at) - r.created_at).days
        for r in requests
        if r.status in (RequestStatus.APPROVED, RequestStatus.REFUSED)
    ]
    totals = november["totals"]
    assert totals["filed"] == shown(len(requests)) == 11
    assert totals["granted"] == shown(len(granted)) == 7
    assert totals["refused"] == "< 5" and totals["expired"] == "< 5"
    assert totals["median_days_to_decision"] == round(statistics.median(days), 1)
    trained = sum(r.trained_path for r in requests)
    assert trained == 3 and totals["trained_path_share"] == round(trained / len(requests), 3)
    # Three trained grants and four untrained ones: too few for either median.
    assert totals["median_days_to_access_trained"] is None
    assert totals["median_days_to_access_untrained"] is None
    assert totals["awareness_completions"] == 6
    rows = {(r["platform"], r["level"]): r for r in november["rows"]}
    assert set(rows) == {("linkedin", "read"), ("x", "read")}
    linkedin = [r for r in requests if "linkedin" in r.content.platforms]
    assert rows[("linkedin", "read")]["filed"] == len(linkedin) == 10
    assert rows[("linkedin", "read")]["granted"] == 7
    assert rows[("x", "read")]["filed"] == "< 5"
    assert rows[("x", "read")]["median_days_to_decision"] is None

    # The CSV says the same, after its licence line.
    text = open_figures_csv(found, ["2026-11"])
    first, rest = text.split("\n", 1)
    assert first.startswith("# ") and "CC BY 4.0" in first
    table = list(csv.DictReader(io.StringIO(rest)))
    total_row = next(r for r in table if r["platform"] == "*")
    assert (total_row["filed"], total_row["refused"], total_row["awareness_completions"]) == (
        "11", "< 5", "6",
    )  # fmt: skip
    assert {(r["platform"], r["filed"]) for r in table if r["platform"] != "*"} == {
        ("linkedin", "10"), ("x", "< 5"),
    }  # fmt: skip
    assert open_figures(found, ["2026-11"])["months"] == [november]


def test_an_empty_month_publishes_only_withheld_counts(services: tuple[Services, Clock]) -> None:
    found, _ = services
    data = json.loads(open_figures_json(found, ["2026-10"]))
    jsonschema.validate(data, SCHEMA)
    (month,) = data["months"]
    assert month["rows"] == [] and month["totals"]["filed"] == "< 5"
    assert month["totals"]["median_days_to_decision"] is None
