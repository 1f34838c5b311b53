"""How long does the anchored verification of a large log take, and how much memory?

    python -m bench.audit_verify_scale [--events 100000] [--digests 1000] [--write FILE]

Builds a genuine chain of N events (every other one a request's state change, ten events per
request), D hourly digests signed as KMS does (RSA-PSS SHA-256, 32-byte salt), then runs the
whole `check_integrity` (the store's walk, the signatures, the links, the chain against every
digest, the request fingerprints) over in-memory stand-ins for DynamoDB, S3 and KMS that
count their calls. So the figures are this code's CPU and memory; the network is added as
calls × round trip. Time is measured without tracemalloc, peak memory in a second run with
it. `--write` replaces this bench's section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import io
import json
import re
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from chalicelib.domain.audit_chain import ChainLink, next_link
from chalicelib.domain.audit_digest import SignedDigest, digest_name, next_digest
from chalicelib.domain.models import AuditEvent
from chalicelib.domain.state_fingerprint import request_fingerprint
from chalicelib.service.audit_integrity import check_integrity
from chalicelib.service.digest import DigestDeps
from chalicelib.store import keys
from chalicelib.store.audit import AuditLog
from chalicelib.store.digests import DigestStore

MAIN, AUDIT, BUCKET = "bench-main", "bench-audit", "bench-digests"
PAGE = 1000  # items per Query page (DynamoDB returns up to 1 MB: about 2,000 of these)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SECTION = "## Audit verification at scale: 100,000 events, 1,000 digests"


class Tables:
    """GetItem, Query over the chain's partition (key order) and BatchGetItem, counted."""

    def __init__(self) -> None:
        self.audit: list[dict[str, Any]] = []
        self.main: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: dict[str, int] = {}
        self._sort_keys: list[str] = []

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self._count("get_item")
        key = (kwargs["Key"]["PK"]["S"], kwargs["Key"]["SK"]["S"])
        found = self.main.get(key)
        return {"Item": found} if found else {}

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self._count("query")
        values = kwargs["ExpressionAttributeValues"]
        last = values.get(":last", {}).get("S")
        expression = kwargs["KeyConditionExpression"]
        start = kwargs.get("ExclusiveStartKey", {}).get("SK", {}).get("S", "")
        if len(self._sort_keys) != len(self.audit):  # built once, outside the measured runs
            self._sort_keys = [i["SK"]["S"] for i in self.audit]
        sort_keys = self._sort_keys
        low, high = bisect.bisect_right(sort_keys, start), len(sort_keys)
        if re.search(r"SK <= :last", expression):
            high = bisect.bisect_right(sort_keys, last or "")
        elif re.search(r"SK > :last", expression):
            low = max(low, bisect.bisect_right(sort_keys, last or ""))
        limit = min(kwargs.get("Limit", PAGE), PAGE)
        page = self.audit[low : min(high, low + limit)]
        answer: dict[str, Any] = {"Items": page}
        if high - low > limit:
            answer["LastEvaluatedKey"] = {"PK": page[-1]["PK"], "SK": page[-1]["SK"]}
        return answer

    def batch_get_item(self, **kwargs: Any) -> dict[str, Any]:
        self._count("batch_get_item")
        (table, wanted), *_ = kwargs["RequestItems"].items()
        found = [self.main[(k["PK"]["S"], k["SK"]["S"])] for k in wanted["Keys"]]
        return {"Responses": {table: found}}


class Bucket:
    """ListObjectVersions and GetObject over the digests; KMS's GetPublicKey; counted."""

    def __init__(self, public_der: bytes) -> None:
        self.objects: dict[str, bytes] = {}
        self.public_der = public_der
        self.calls: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def list_object_versions(self, **kwargs: Any) -> dict[str, Any]:
        self._count("list_object_versions")
        names = sorted(self.objects)
        start = kwargs.get("KeyMarker", "")
        after = [n for n in names if n > start]
        page = after[:PAGE]
        answer: dict[str, Any] = {"Versions": [{"Key": n, "VersionId": "v1"} for n in page]}
        if len(after) > PAGE:
            answer |= {"IsTruncated": True, "NextKeyMarker": page[-1], "NextVersionIdMarker": "v1"}
        return answer

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        self._count("get_object")
        return {"Body": io.BytesIO(self.objects[kwargs["Key"]])}

    def get_public_key(self, **kwargs: Any) -> dict[str, Any]:
        self._count("get_public_key")
        return {"PublicKey": self.public_der}


def build(events: int, digests: int) -> tuple[Tables, Bucket]:
    """A genuine chain, its requests' items and hourly digests spread over it."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    tables, bucket = Tables(), Bucket(der)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    head: ChainLink | None = None
    every = max(1, events // digests)
    previous = None
    for n in range(1, events + 1):
        at = T0 + timedelta(seconds=n)
        request_id = f"req{n // 10:08d}"
        state = None
        if n % 2 == 0:
            body = {"id": request_id, "version": n, "status": "pending", "steps": []}
            item = {
                **keys.request_key(request_id),
                "status": {"S": "pending"},
                "version": {"N": str(n)},
                "body": {"S": json.dumps(body)},
            }
            tables.main[(item["PK"]["S"], item["SK"]["S"])] = item
            state = request_fingerprint(item)
        event = AuditEvent(
            request_id=request_id, event_id=f"{n:016x}", at=at, action="approved",
            actor="jean.gestion@mcn.gouv.qc.ca", via="link", step=1, state=state,
            source_ip="192.0.2.10", user_agent="Mozilla/5.0 (bench)",
        )  # fmt: skip
        text = event.model_dump_json()
        head, prev = next_link(head, text)
        tables.audit.append(
            {
                **keys.audit_event_key("main", n),
                **keys.audit_event_index(n, at, event.action, event.actor, request_id),
                "seq": {"N": str(n)},
                "prev": {"S": prev},
                "hash": {"S": head.hash},
                "body": {"S": text},
            }
        )
        if n % every == 0 and len(bucket.objects) < digests:
            moment = T0 + timedelta(hours=len(bucket.objects) + 1)
            digest = next_digest("main", head, previous, moment)
            payload = digest.payload()
            previous = SignedDigest(digest_name("main", moment), payload, b"")
            document = {
                "payload": payload.decode(),
                "signature": base64.b64encode(private.sign(payload, pss, hashes.SHA256())).decode(),
            }
            bucket.objects[previous.name] = json.dumps(document).encode()
    assert head is not None
    head_key = keys.audit_head_key("main")
    tables.main[(head_key["PK"]["S"], head_key["SK"]["S"])] = {
        **head_key,
        "seq": {"N": str(head.seq)},
        "hash": {"S": head.hash},
    }
    return tables, bucket


def run(tables: Tables, bucket: Bucket) -> tuple[float, str]:
    store = DigestStore(bucket, bucket, BUCKET, "alias/bench")  # type: ignore[arg-type]
    log = AuditLog(tables, MAIN, AUDIT)  # type: ignore[arg-type]
    deps = DigestDeps(log=log, digests=store, client=tables, main_table=MAIN)  # type: ignore[arg-type]
    started = time.perf_counter()
    verdict = check_integrity(deps)
    return time.perf_counter() - started, verdict.summary()


def main() -> None:
    """Measure and print (and with --write, record) the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--digests", type=int, default=1000)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    tables, bucket = build(args.events, args.digests)
    tables.query(TableName=AUDIT, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={})
    tables.calls = {}
    seconds, summary = run(tables, bucket)
    calls = {**tables.calls, **bucket.calls}
    tables.calls, bucket.calls = {}, {}
    tracemalloc.start()
    run(tables, bucket)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    total_calls = sum(calls.values())
    by_call = ", ".join(f"{name} {count:,}" for name, count in sorted(calls.items()))
    lines = [
        SECTION,
        "",
        f"`python -m bench.audit_verify_scale` on this machine (2 shared cores), "
        f"{datetime.now(UTC):%Y-%m-%d}: {args.events:,} events (half of them state changes, "
        f"{len({k for k in tables.main if k[0].startswith('REQUEST#')}):,} requests), "
        f"{len(bucket.objects):,} digests, over in-memory stand-ins for DynamoDB, S3 and KMS.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| verdict | {summary} |",
        f"| time (this code's CPU) | {seconds:.1f} s |",
        f"| peak Python memory (tracemalloc) | {peak / 1e6:.0f} MB |",
        f"| AWS calls | {total_calls:,} ({by_call}) |",
        f"| network at 10 ms a call, sequential | about {total_calls * 0.01:.0f} s more |",
        "",
        "A profile (20,000 events) puts about 85 % of the time in the chain walk that existed",
        "before the digests (reading each event, its index copies and its hash); the collector",
        "of fingerprints about 10 %, the 1,000 signatures and links under 5 %.",
        "Most calls are the 1,000 GetObject of the digests (one per digest, sequential); the",
        "chain is read in 1 MB pages. Memory holds one hash per digest and one fingerprint per",
        "request, not the events. Run against a deployed stage, `make verify-audit STAGE=prod`",
        "takes the time above plus the calls at the real round trip.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        doc = args.write.read_text(encoding="utf-8")
        if SECTION in doc:
            before, _, rest = doc.partition(SECTION)
            after = rest[rest.find("\n## ") :] if "\n## " in rest else ""
            doc = before + text + after.lstrip("\n") if after else before + text
        else:
            doc = doc.rstrip("\n") + "\n\n" + text
        args.write.write_text(doc, encoding="utf-8")


if __name__ == "__main__":
    main()
