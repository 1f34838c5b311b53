"""How fast can the audit chain be appended to, and what does one global chain cost?

    python -m bench.audit_append [--writers 20] [--events 25] [--rtt-ms 0,10]

Runs against in-process moto. moto is not thread-safe and DynamoDB serialises writes to one
item, so every call goes through one lock (as in the tests); a simulated network round trip
(`--rtt-ms`) is spent OUTSIDE the lock before each call (twice for a transaction, which
DynamoDB runs in two phases), so that contention looks like it does against AWS: the longer
the round trip, the longer the window between reading the head and writing after it.

Scenarios: one writer; N writers on the one global chain (the design); N writers each on
its own chain (what a chain per request would give: no shared head, no lost races).

`--backend model` replaces moto by a minimal in-memory table with DynamoDB's conditional
semantics and a lock per item: moto spends ~10 ms of CPU per call under one global lock,
which inflates the window between reading the head and writing after it; the model keeps
only the simulated round trips, as against AWS where calls on other items run in parallel.
Figures go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

RTT_CALLS = {"get_item": 1, "transact_write_items": 2, "query": 1}


class NetworkAndLock:
    """Spend a round trip per call outside a lock, then run the call under the lock."""

    def __init__(self, inner: Any, rtt_seconds: float) -> None:
        self._inner = inner
        self._rtt = rtt_seconds
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._rtt:
                time.sleep(self._rtt * RTT_CALLS.get(name, 1))
            with self._lock:
                return method(*args, **kwargs)

        return call


class ModelTable:
    """Just enough of DynamoDB for `AuditLog.append`: GetItem and a conditional
    TransactWriteItems of Puts, atomic, with each call taking the simulated round trip."""

    def __init__(self, rtt_seconds: float) -> None:
        self._items: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._rtt = rtt_seconds

    def _key(self, table: str, key: dict[str, Any]) -> tuple[str, str, str]:
        return (table, key["PK"]["S"], key["SK"]["S"])

    def get_item(self, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:  # noqa: N803
        time.sleep(self._rtt)
        with self._lock:
            item = self._items.get(self._key(TableName, Key))
        return {"Item": dict(item)} if item else {}

    def _holds(self, put: dict[str, Any]) -> bool:
        current = self._items.get(self._key(put["TableName"], put["Item"]))
        condition = put.get("ConditionExpression")
        if condition == "attribute_not_exists(PK)":
            return current is None
        if condition == "seq = :read":
            read = put["ExpressionAttributeValues"][":read"]["N"]
            return current is not None and current["seq"]["N"] == read
        return True

    def transact_write_items(
        self,
        TransactItems: list[dict[str, Any]],  # noqa: N803
        ClientRequestToken: str | None = None,  # noqa: N803  (accepted, as DynamoDB does)
    ) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        time.sleep(2 * self._rtt)
        puts = [entry["Put"] for entry in TransactItems]
        with self._lock:
            reasons = [
                {"Code": "None" if self._holds(p) else "ConditionalCheckFailed"} for p in puts
            ]
            if any(r["Code"] != "None" for r in reasons):
                error = {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}}
                raise ClientError({**error, "CancellationReasons": reasons}, "TransactWriteItems")
            for put in puts:
                self._items[self._key(put["TableName"], put["Item"])] = put["Item"]
        return {}

    def chain_is_whole(self, audit: str, chain: str, count: int) -> bool:
        """Every position 1..count is there exactly once, each chained to the one before."""
        from chalicelib.domain.audit_chain import GENESIS

        previous = GENESIS
        for seq in range(1, count + 1):
            item = self._items.get((audit, f"CHAIN#{chain}", f"SEQ#{seq:012d}"))
            if item is None or item["prev"]["S"] != previous:
                return False
            previous = item["hash"]["S"]
        return (audit, f"CHAIN#{chain}", f"SEQ#{count + 1:012d}") not in self._items


@dataclass
class Result:
    scenario: str
    rtt_ms: float
    appends: int
    seconds: float
    attempts: int
    latencies: list[float]
    gave_up: int = 0

    def row(self) -> str:
        rate = self.appends / self.seconds
        p50 = statistics.median(self.latencies) * 1000
        p95 = statistics.quantiles(self.latencies, n=20)[-1] * 1000
        per_append = self.attempts / max(self.appends, 1)
        gave_up = f" ({self.gave_up} gave up: chain busy)" if self.gave_up else ""
        return (
            f"| {self.scenario} | {self.rtt_ms:g} | {self.appends}{gave_up} | {rate:,.0f} | "
            f"{per_append:.2f} | {p50:.0f} | {p95:.0f} |"
        )


def run(
    scenario: str, writers: int, events: int, rtt_ms: float, shared_chain: bool, backend: str
) -> Result:
    import boto3

    from chalicelib.domain.models import AuditEvent
    from chalicelib.store.audit import AuditLog
    from local_stack.aws_setup import create_tables

    suffix = f"{scenario}-{rtt_ms:g}".replace(" ", "-").replace(".", "-").replace(",", "")
    main, audit = f"bench-main-{suffix}", f"bench-audit-{suffix}"
    shared: Any
    if backend == "model":
        shared = ModelTable(rtt_ms / 1000)
    else:
        client = boto3.client("dynamodb", region_name="ca-central-1")
        create_tables(client, {"main": main, "audit": audit})
        shared = NetworkAndLock(client, rtt_ms / 1000)
    logs = [
        AuditLog(shared, main, audit, chain="main" if shared_chain else f"w{n}")  # type: ignore[arg-type]
        for n in range(writers)
    ]
    from chalicelib.domain.errors import ServiceUnavailable

    latencies: list[float] = []
    written = [0] * writers
    guard = threading.Lock()
    start_line = threading.Barrier(writers)

    def write(n: int) -> None:
        start_line.wait()
        for e in range(events):
            event = AuditEvent(
                request_id=None,
                event_id=f"{n}-{e}",
                at=datetime.now(UTC),
                action="signed_in",
                actor=f"agent{n}@mcn.gouv.qc.ca",
                via="link",
            )
            began = time.perf_counter()
            try:
                logs[n].append(event)
            except ServiceUnavailable:
                # The app answers 503 then; the bench counts it instead of stopping.
                continue
            written[n] += 1
            with guard:
                latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    appends = sum(written)
    attempts = appends + sum(log.retries for log in logs)
    if backend == "model":
        counts = (
            {"main": appends} if shared_chain else {f"w{n}": written[n] for n in range(writers)}
        )
        assert all(shared.chain_is_whole(audit, chain, count) for chain, count in counts.items())
    else:
        for log in logs[:1] if shared_chain else logs:
            verdict = log.verify()
            assert verdict.intact, verdict.summary()
    return Result(
        scenario, rtt_ms, appends, seconds, attempts, latencies, writers * events - appends
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_append", description=__doc__)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--events", type=int, default=25, help="appends per writer")
    parser.add_argument("--rtt-ms", default="0,10", help="simulated round trips, comma-separated")
    parser.add_argument("--backend", choices=("moto", "model"), default="moto")
    args = parser.parse_args()
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_DEFAULT_REGION", "ca-central-1"),
    ):
        os.environ[name] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    print(
        f"backend: {args.backend}\n"
        "| scenario | simulated RTT (ms) | appends | appends/s | attempts per append "
        "| p50 latency (ms) | p95 latency (ms) |\n|---|---|---|---|---|---|---|"
    )
    with mock_aws():
        for rtt in (float(v) for v in args.rtt_ms.split(",")):
            for scenario, writers, shared in (
                ("1 writer, global chain", 1, True),
                (f"{args.writers} writers, one global chain", args.writers, True),
                (f"{args.writers} writers, a chain each", args.writers, False),
            ):
                events = args.events * (args.writers if writers == 1 else 1)
                result = run(scenario, writers, events, rtt, shared, args.backend)
                print(result.row(), flush=True)


if __name__ == "__main__":
    main()
