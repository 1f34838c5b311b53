"""The console requests page, the audit page and the delivery sweep at growing table sizes.

    python -m bench.scale [--sizes 100,10000,100000] [--runs 5]

One in-process moto for the whole sweep: an officer signs in while the tables are empty, then
the tables grow to each size in turn (requests and one chained `submitted` event each), and
every page is served `--runs` times at each size. Per page: the AWS calls (counted), the
median time, and the part of it spent inside the DynamoDB calls (botocore's `before-call` to
`after-call`: the emulator plus the SDK), so what the app itself costs can be read apart from
what moto costs.

Items are put straight into moto's backend, built by the store's own item builders (the same
items the app writes). Through the API, 200,000 puts take minutes; the backend takes seconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PAGES = ("console requests page", "audit page", "delivery sweep, nothing due")


@dataclass
class Meter:
    """Counts DynamoDB calls by name and adds up the time spent inside them."""

    calls: Counter[str] = field(default_factory=Counter)
    inside_s: float = 0.0
    _started: float = 0.0

    def before(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        self._started = time.perf_counter()

    def after(self, **_: Any) -> None:
        self.inside_s += time.perf_counter() - self._started

    def reset(self) -> None:
        self.calls.clear()
        self.inside_s = 0.0


@contextmanager
def metered() -> Iterator[Meter]:
    from chalicelib import aws

    meter = Meter()
    events = aws.dynamodb().meta.events
    events.register("before-call.dynamodb", meter.before)
    events.register("after-call.dynamodb", meter.after)
    try:
        yield meter
    finally:
        events.unregister("before-call.dynamodb", meter.before)
        events.unregister("after-call.dynamodb", meter.after)


def put_fast(table: Any, attrs: dict[str, Any]) -> None:
    """Store an item in a moto table as its put_item does, minus the checks: moto re-sums the
    item's size at each attribute it sets (quadratic), which made seeding take minutes."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    item = Item(DynamoType(attrs["PK"]), DynamoType(attrs["SK"]), {})
    item.attrs.update({name: DynamoType(value) for name, value in attrs.items()})
    table.items[item.hash_key][item.range_key] = item


class Seeder:
    """Grows the tables to a number of requests, each with its chained audit event."""

    def __init__(self) -> None:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        from chalicelib.domain.submission import validate_submission
        from chalicelib.domain.workflow import new_request
        from chalicelib.service.context import get_services
        from tests.conftest import valid_form

        services = get_services()
        self.store = services.store
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["ca-central-1"]
        self.main = backend.get_table(services.settings.main_table)
        self.audit = backend.get_table(services.settings.audit_table)
        content = validate_submission(valid_form(), services.policy).content
        assert content is not None
        self.content = content
        self.template = new_request("0" * 24, content, services.policy, "fr", T0)
        self.count = 0
        self.head = self.store.audit.head()

    def grow_to(self, size: int) -> None:
        from chalicelib.domain.audit_chain import next_link
        from chalicelib.domain.models import AuditEvent, RequestStatus
        from chalicelib.store import keys

        statuses = (RequestStatus.PENDING_CONFIRMATION, RequestStatus.APPROVED)
        for n in range(self.count, size):
            at = T0 + timedelta(minutes=n)
            status = statuses[n % 2]
            request = self.template.model_copy(
                update={
                    "id": f"{n:024d}",
                    "created_at": at,
                    "status": status,
                    "access_until": at + timedelta(days=3650)
                    if status == RequestStatus.APPROVED
                    else None,
                    "content": self.content.model_copy(
                        update={"email": f"agent{n % 400}@mcn.gouv.qc.ca"}
                    ),
                }
            )
            put = self.store._request_put(request, "attribute_not_exists(PK)", {})
            put_fast(self.main, put["Put"]["Item"])
            event = AuditEvent(
                request_id=request.id,
                event_id=f"e{n}",
                at=at,
                action="submitted",
                actor=request.content.email,
                via="form",
            )
            body = event.model_dump_json()
            self.head, prev = next_link(self.head, body)
            chained = self.store.audit._event_put(event, body, self.head, prev)
            put_fast(self.audit, chained["Put"]["Item"])
        assert self.head is not None
        self.main.put_item(
            {
                **keys.audit_head_key("main"),
                "seq": {"N": str(self.head.seq)},
                "hash": {"S": self.head.hash},
                "at": {"S": keys.stamp(T0)},
            }
        )
        self.count = size


def measure(sizes: list[int], runs: int) -> dict[str, Any]:
    """Serve each page `runs` times at each size; return calls, times and seeding time."""
    from bench.run import stack
    from bench.usecases import sweep
    from tests.integration.people import OFFICER, get, sign_in

    found: dict[str, Any] = {"sizes": sizes, "runs": runs, "pages": {}, "seed_s": {}}
    with stack() as client:
        cookie = sign_in(client, OFFICER)  # it writes: done while the tables are empty
        seeder = Seeder()

        def ok(response: Any) -> None:
            status = getattr(response, "status_code", 200)
            assert status == 200, status

        serve: dict[str, Callable[[], None]] = {
            "console requests page": lambda: ok(get(client, "/console/requests", cookie)),
            "audit page": lambda: ok(get(client, "/console/audit", cookie)),
            "delivery sweep, nothing due": lambda: ok(sweep(client)),
        }
        with metered() as meter:
            for size in sizes:
                started = time.perf_counter()
                seeder.grow_to(size)
                found["seed_s"][size] = time.perf_counter() - started
                for page in PAGES:
                    # Untimed first: the session's "last seen" is refreshed at most once a
                    # minute (an UpdateItem), and seeding 100,000 items takes longer than that.
                    serve[page]()
                    totals, insides, calls = [], [], []
                    for _ in range(runs):
                        meter.reset()
                        started = time.perf_counter()
                        serve[page]()
                        totals.append(time.perf_counter() - started)
                        insides.append(meter.inside_s)
                        calls.append(dict(sorted(meter.calls.items())))
                    # The session's "last seen" refresh (one UpdateItem, at most once a minute)
                    # can fall in a timed run when pages take seconds: the usual calls count.
                    usual = Counter(tuple(c.items()) for c in calls).most_common(1)[0][0]
                    found["pages"].setdefault(page, {})[size] = {
                        "calls": dict(usual),
                        "median_ms": 1000 * statistics.median(totals),
                        "inside_ms": 1000 * statistics.median(insides),
                        "outside_ms": 1000
                        * statistics.median(t - i for t, i in zip(totals, insides, strict=True)),
                    }
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import logging
    import os
    import tempfile

    from bench.run import set_env

    logging.disable(logging.INFO)
    set_env(tempfile.mkdtemp())
    os.environ.setdefault("AWS_DEFAULT_REGION", "ca-central-1")
    found = measure([int(s) for s in args.sizes.split(",")], args.runs)
    for page, by_size in found["pages"].items():
        for size, figures in by_size.items():
            print(page, size, figures)
    print("seed", found["seed_s"])


if __name__ == "__main__":
    main()
