"""`make bench`: cold start, AWS calls, latency per use case, package size and cost.

    python -m bench.run [--runs 200] [--flows 50] [--cold 10] [--scale 100,10000,100000]
                        [--scale-runs 3] [--write docs/performance.md]

Prints a Markdown report and, with --write, replaces the generated section of
docs/performance.md (between the BENCH markers; the audit-chain section stays as it is).
Everything runs in-process against in-process moto: loopback only, loops bounded.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- BENCH:BEGIN (written by make bench) -->", "<!-- BENCH:END -->"
PRICE_DATE = "2026-11-29"
ENV = {
    "SESAME_STAGE": "test",
    "SESAME_MAIN_TABLE": "sesame-test-main",
    "SESAME_AUDIT_TABLE": "sesame-test-audit",
    "SESAME_PUBLIC_BASE_URL": "https://sesame.example.gouv.qc.ca",
    "SESAME_SIGNING_SECRET": "bench-secret-" + "x" * 40,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "ca-central-1",
}
FLOOR = {
    "submit": "1 TransactWriteItems, ≤ 1 read, 1 SES call per e-mail",
    "confirm": "1 TransactWriteItems, ≤ 1 read, 1 SES call per e-mail",
    "manager decision": "1 TransactWriteItems, ≤ 1 read, 1 SES call per e-mail",
    "officer decision": "1 TransactWriteItems, ≤ 1 read, 1 SES call per e-mail",
    "console queue page": "1 Query",
    "audit page": "1 Query",
    "reminder sweep, nothing due": "1 Query",
}
# One access request from form to access: what a thousand of them cost.
ONE_REQUEST = (
    "form page",
    "submit",
    "confirm (page)",
    "confirm",
    "manager decision (page)",
    "manager decision",
    "officer decision (page)",
    "officer decision",
    "status page",
)


def set_env(state_dir: str) -> None:
    os.environ.update(ENV, SESAME_STATE_DIR=state_dir)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_REGION"):
        os.environ.pop(key, None)


@contextmanager
def stack() -> Iterator[Any]:
    """In-process moto with the real tables, and Chalice's test client on the test stage."""
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from chalicelib import aws
    from chalicelib.adapters.policy_files import load_policy
    from chalicelib.service.context import reset_services
    from local_stack.aws_setup import create_event_bus, create_tables, verify_sender

    reset_services()
    aws.reset_clients()
    with mock_aws():
        create_tables(
            boto3.client("dynamodb"),
            {"main": ENV["SESAME_MAIN_TABLE"], "audit": ENV["SESAME_AUDIT_TABLE"]},
        )
        verify_sender(boto3.client("ses"), load_policy(ROOT / "policies").organisation.sender)
        # The bus provisioning listens on (the stage's default name), as the local stack has.
        create_event_bus(boto3.client("events"), boto3.client("logs"), "sesame-test-access")
        with Client(app, stage_name="test", project_dir=str(ROOT)) as client:
            yield client
    reset_services()
    aws.reset_clients()


# -- cold start ---------------------------------------------------------------------------


def cold_start(runs: int) -> dict[str, Any]:
    figures: dict[str, list[dict[str, float]]] = {"sesame": [], "minimal": []}
    env = {**os.environ, **ENV, "SESAME_STATE_DIR": tempfile.mkdtemp()}
    for _ in range(runs):
        for which in ("sesame", "minimal"):  # interleaved: drift in the machine hits both
            started = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-m", "bench.cold_start", which],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            )
            found = json.loads(out.stdout.strip().splitlines()[-1])
            found["process_s"] = time.perf_counter() - started
            figures[which].append(found)
    medians = {
        which: {key: statistics.median(f[key] for f in runs_) for key in runs_[0]}
        for which, runs_ in figures.items()
    }
    # Each Sésame run over the minimal run after it: how much the machine's load moves the ratio.
    pairs = sorted(
        s["first_response_s"] / m["first_response_s"]
        for s, m in zip(figures["sesame"], figures["minimal"], strict=True)
    )
    quartiles = statistics.quantiles(pairs, n=4) if len(pairs) > 1 else pairs * 3
    return {"runs": runs, **medians, "pairs": (pairs[0], quartiles[0], quartiles[2], pairs[-1])}


def cold_start_section(cold: dict[str, Any]) -> list[str]:
    """The cold-start table and ratio, as Markdown lines."""
    lines = [
        "### Cold start",
        "",
        f"A fresh process per run, median of {cold['runs']} runs each (interleaved). "
        "Timed: importing the app, then serving its first page through Chalice's test client "
        "(moto and its tables are set up before the clock starts; boto3 is already imported "
        "by moto in both). Before the runs, `make bench` builds what a package ships "
        "(`make cold-start-assets`: the policy snapshot, compiled templates, bytecode).",
        "",
        "| app | import (ms) | import + first response (ms) | modules imported "
        "| whole process (ms) |",
        "|---|---|---|---|---|",
    ]
    for which, label in (
        ("sesame", "Sésame, `GET /`"),
        ("minimal", "minimal Chalice + boto3 clients"),
    ):
        c = cold[which]
        lines.append(
            f"| {label} | {1000 * c['import_s']:.0f} | {1000 * c['first_response_s']:.0f} | "
            f"{c['modules']:.0f} | {1000 * c['process_s']:.0f} |"
        )
    ratio = cold["sesame"]["first_response_s"] / cold["minimal"]["first_response_s"]
    cpu = cold["sesame"]["first_response_cpu_s"] / cold["minimal"]["first_response_cpu_s"]
    low, q1, q3, high = cold["pairs"]
    return [
        *lines,
        "",
        f"Ratio (import + first response): **{ratio:.2f} ×** (target ≤ 1.3 ×); "
        f"import alone: {cold['sesame']['import_s'] / cold['minimal']['import_s']:.1f} ×. "
        f"Run by run (each Sésame run over the minimal run after it): {low:.2f} to "
        f"{high:.2f} ×, half of them between {q1:.2f} and {q3:.2f} ×. "
        f"The same in CPU time of the measured process (less moved by other processes on "
        f"the machine): {1000 * cold['sesame']['first_response_cpu_s']:.0f} ms against "
        f"{1000 * cold['minimal']['first_response_cpu_s']:.0f} ms, {cpu:.2f} ×.",
    ]


# -- calls and latency ----------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def calls_and_sizes() -> tuple[dict[str, dict[str, int]], dict[str, dict[str, float]]]:
    """Calls per use case, and the capacity units they would consume (estimated from the
    sizes of the items written and read; strongly consistent reads assumed)."""
    from bench.usecases import WALK, Flow
    from chalicelib import aws

    with stack() as client:
        flow = Flow(client)
        steps = flow.steps()
        units: dict[str, float] = {"wru": 0.0, "rru": 0.0}
        calls: dict[str, int] = {}

        batch_keys = [0]  # keys asked by the last BatchGetItem (the response omits missing ones)

        def before(params: dict[str, Any], model: Any, **_: Any) -> None:
            name = model.name
            calls[name] = calls.get(name, 0) + 1
            if name == "BatchGetItem":
                batch_keys[0] = sum(len(t["Keys"]) for t in params["RequestItems"].values())
            if name == "TransactWriteItems":
                for item in params["TransactItems"]:
                    body = next(iter(item.values()))
                    units["wru"] += 2 * math.ceil(len(json.dumps(body).encode()) / 1024)
            elif name in ("PutItem", "UpdateItem", "DeleteItem"):
                units["wru"] += max(1, math.ceil(len(json.dumps(params).encode()) / 1024))

        def after(parsed: dict[str, Any], model: Any, **_: Any) -> None:
            if model.name == "GetItem":
                size = len(json.dumps(parsed.get("Item", {}), default=str).encode())
                units["rru"] += max(1, math.ceil(size / 4096))
            elif model.name == "Query":
                size = len(json.dumps(parsed.get("Items", []), default=str).encode())
                units["rru"] += max(1, math.ceil(size / 4096))
            elif model.name == "BatchGetItem":
                # Billed item by item as GetItem would be: each key read costs at least 1 RRU.
                found = [i for items in parsed.get("Responses", {}).values() for i in items]
                for item in found:
                    size = len(json.dumps(item, default=str).encode())
                    units["rru"] += max(1, math.ceil(size / 4096))
                units["rru"] += max(0, batch_keys[0] - len(found))

        dynamodb = aws.dynamodb()
        for boto_client in (dynamodb, aws.ses(), aws.events()):
            boto_client.meta.events.register("provide-client-params", before)
        dynamodb.meta.events.register("after-call", after)
        found: dict[str, dict[str, int]] = {}
        cost: dict[str, dict[str, float]] = {}
        for label, name in WALK:
            prepared = steps[name].prepare()
            calls.clear()
            units.update(wru=0.0, rru=0.0)
            steps[name].run(prepared)
            found[label] = dict(sorted(calls.items()))
            cost[label] = dict(units)
    return found, cost


def latencies(runs: int, flows: int) -> dict[str, dict[str, float]]:
    from bench.usecases import Flow

    times: dict[str, list[float]] = {}

    def timed(label: str, run: Callable[[Any], Any], prepared: Any) -> None:
        started = time.perf_counter()
        run(prepared)
        times.setdefault(label, []).append(time.perf_counter() - started)

    with stack() as client:
        flow = Flow(client)
        steps = flow.steps()
        steps["submit"].run(steps["submit"].prepare())  # the first submit notes the policy
        chain = (
            "submit",
            "confirm (page)",
            "confirm",
            "manager decision (page)",
            "manager decision",
            "officer decision (page)",
            "officer decision",
        )
        for _ in range(flows):
            for name in chain:
                timed(name, steps[name].run, steps[name].prepare())
        for name in (
            "form page",
            "status page",
            "console queue page",
            "audit page",
            "reminder sweep, nothing due",
        ):
            for _ in range(runs):
                timed(name, steps[name].run, steps[name].prepare())
    return {
        name: {
            "runs": len(values),
            "median_ms": 1000 * statistics.median(values),
            "p95_ms": 1000 * percentile(values, 0.95),
        }
        for name, values in times.items()
    }


# -- package --------------------------------------------------------------------------------


def zip_sizes(path: Path) -> tuple[int, int]:
    with zipfile.ZipFile(path) as archive:
        return path.stat().st_size, sum(info.file_size for info in archive.infolist())


def package_sizes() -> dict[str, Any]:
    result: dict[str, Any] = {}
    done = subprocess.run(
        ["make", "package"],  # noqa: S607
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    zipped = ROOT / "build" / "dev" / "deployment.zip"
    if done.returncode == 0 and zipped.exists():
        result["sesame"] = zip_sizes(zipped)
    # The sign-in and LDAP libraries' layer (ops/build_layer.py), beside the function zip.
    layer = ROOT / "build" / "dev" / "signin-layer.zip"
    if done.returncode == 0 and layer.exists():
        result["layer"] = zip_sizes(layer)
    # A hello-world with the same requirements, packaged by the same Chalice.
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "hello"
        (project / ".chalice").mkdir(parents=True)
        (project / "app.py").write_text(
            "from chalice import Chalice\napp = Chalice(app_name='hello')\n\n\n"
            "@app.route('/')\ndef index():\n    return {'hello': 'world'}\n"
        )
        (project / "requirements.txt").write_text((ROOT / "requirements.txt").read_text())
        (project / ".chalice" / "config.json").write_text(
            json.dumps({"version": "2.0", "app_name": "hello", "stages": {"dev": {}}})
        )
        chalice = ROOT / ".venv" / "bin" / "chalice"
        try:
            out = subprocess.run(
                [str(chalice), "package", str(Path(tmp) / "out")],
                check=False,
                cwd=project,
                capture_output=True,
                text=True,
                timeout=180,
                env={**os.environ, "AWS_DEFAULT_REGION": "ca-central-1"},
            )
            hello = Path(tmp) / "out" / "deployment.zip"
            if out.returncode == 0 and hello.exists():
                result["hello"] = zip_sizes(hello)
        except subprocess.TimeoutExpired:
            pass
    return result


# -- cost -----------------------------------------------------------------------------------

# List prices assumed (USD, ca-central-1 where it differs, as read on PRICE_DATE): see the doc.
PRICES = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_s": 0.0000166667,
    "lambda_memory_gb": 0.5,  # lambda_memory_size 512 in .chalice/config.json
    "apigw_request": 3.50 / 1e6,  # REST API, first 333 million a month
    "dynamodb_wru": 0.6875 / 1e6,  # on-demand; a transaction costs 2 WRU per KB per item
    "dynamodb_rru": 0.1375 / 1e6,  # on-demand; strongly consistent 1 RRU per 4 KB
    "ses_email": 0.10 / 1000,
}


def cost_per_thousand(
    calls: dict[str, dict[str, int]],
    units: dict[str, dict[str, float]],
    latency: dict[str, dict[str, float]],
) -> dict[str, float]:
    invocations = len(ONE_REQUEST)
    wru = sum(units[n]["wru"] for n in ONE_REQUEST)
    rru = sum(units[n]["rru"] for n in ONE_REQUEST)
    emails = sum(calls[n].get("SendRawEmail", 0) for n in ONE_REQUEST)
    seconds = sum(latency[n]["median_ms"] for n in ONE_REQUEST if n in latency) / 1000
    per_request = {
        "Lambda requests": invocations * PRICES["lambda_request"],
        "Lambda duration": seconds * PRICES["lambda_memory_gb"] * PRICES["lambda_gb_s"],
        "API Gateway": invocations * PRICES["apigw_request"],
        "DynamoDB writes": wru * PRICES["dynamodb_wru"],
        "DynamoDB reads": rru * PRICES["dynamodb_rru"],
        "SES": emails * PRICES["ses_email"],
    }
    result = {key: 1000 * value for key, value in per_request.items()}
    result["total"] = sum(result.values())
    result.update(invocations=invocations, wru=wru, rru=rru, emails=emails, seconds=seconds)
    return result


# -- report ---------------------------------------------------------------------------------


def fmt_calls(calls: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in calls.items()) or "none"


def machine() -> str:
    out = subprocess.run(["free", "-h"], check=False, capture_output=True, text=True)  # noqa: S607
    free = out.stdout.splitlines()
    memory = free[1].split()[1] if len(free) > 1 else "?"
    return (
        f"{os.cpu_count()} cores (`nproc`), {memory} RAM (`free -h`), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def scale_lines(scale: dict[str, Any]) -> list[str]:
    sizes: list[int] = scale["sizes"]
    seeded = ", ".join(f"{n:,} in {scale['seed_s'][n]:.0f} s" for n in sizes)
    lines = [
        "",
        f"### Scale: pages at {' / '.join(f'{n:,}' for n in sizes)} items",
        "",
        "One in-process moto; the officer signs in while the tables are empty, then the tables "
        "grow to each size (that many requests in the main table and as many chained audit "
        f"events; put straight into moto's backend: {seeded}). Each page is served "
        f'{scale["runs"]} times per size (medians). "In DynamoDB calls" is the time between '
        'botocore\'s `before-call` and `after-call` (moto plus the SDK); "outside" is the '
        "rest: Sésame's own code and Chalice.",
        "",
        "| page | items | calls | median (ms) | in DynamoDB calls (ms) | outside (ms) |",
        "|---|---|---|---|---|---|",
    ]
    ratios = []
    for page, by_size in scale["pages"].items():
        for n in sizes:
            f = by_size[n]
            lines.append(
                f"| {page} | {n:,} | {fmt_calls(f['calls'])} | {f['median_ms']:.1f} "
                f"| {f['inside_ms']:.1f} | {f['outside_ms']:.1f} |"
            )
        low, high = by_size[sizes[0]], by_size[sizes[-1]]
        ratios.append(
            f"- {page}: calls {'the same' if low['calls'] == high['calls'] else 'DIFFER'}; "
            f"time **{high['median_ms'] / low['median_ms']:.2f} ×**, outside the DynamoDB "
            f"calls **{high['outside_ms'] / low['outside_ms']:.2f} ×**."
        )
    lines += ["", f"Ratio {sizes[-1]:,} / {sizes[0]:,} items (target ≤ 1.5 ×):", "", *ratios]
    return lines


def report(args: argparse.Namespace) -> str:
    started = time.perf_counter()
    state = tempfile.mkdtemp()
    set_env(state)
    sys.path.insert(0, str(ROOT))
    cold = cold_start(args.cold)
    calls, units = calls_and_sizes()
    latency = latencies(args.runs, args.flows)
    sizes = package_sizes()
    from bench.scale import measure

    scale = measure([int(n) for n in args.scale.split(",")], args.scale_runs)
    cost = cost_per_thousand(calls, units, latency)
    elapsed = time.perf_counter() - started
    mb = 1024 * 1024
    lines = [
        BEGIN,
        "",
        f"Measured on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make bench` ({elapsed:.0f} s): "
        f"{machine()}. In-process moto: every AWS call costs moto's CPU, not a network "
        "round trip, so the latencies are an emulator's, not AWS's.",
        "",
    ]
    lines += cold_start_section(cold)
    lines += [
        "",
        "### AWS calls per use case",
        "",
        "Counted with botocore's `before-call` hooks on the app's DynamoDB, SES and "
        "EventBridge clients (pinned by `tests/integration/test_call_counts.py`). Capacity "
        "units are estimated from the sizes of the items written and read (strongly "
        "consistent reads assumed).",
        "",
        "| use case | calls | WRU | RRU | floor |",
        "|---|---|---|---|---|",
    ]
    for name, found in calls.items():
        lines.append(
            f"| {name} | {fmt_calls(found)} | {units[name]['wru']:.0f} | "
            f"{units[name]['rru']:.0f} | {FLOOR.get(name.split(' (')[0], '')} |"
        )
    lines += [
        "",
        "### Latency per use case (in-process, against in-process moto)",
        "",
        f"State changes and the link pages: {args.flows} requests walked from submit to the "
        f"officer's decision (moto's transactions copy the table, so fewer runs than the "
        f"{args.runs} of the read-only pages); read-only pages and the sweep: {args.runs} runs.",
        "",
        "| use case | runs | median (ms) | p95 (ms) |",
        "|---|---|---|---|",
    ]
    for name, figures in latency.items():
        lines.append(
            f"| {name} | {figures['runs']:.0f} | {figures['median_ms']:.1f} "
            f"| {figures['p95_ms']:.1f} |"
        )
    lines += scale_lines(scale)
    lines += ["", "### Deployment package", ""]
    if "sesame" in sizes:
        z, u = sizes["sesame"]
        lines.append(
            f"- Sésame `build/dev/deployment.zip` (`make package`): **{z / mb:.2f} MB** zipped, "
            f"{u / mb:.2f} MB unzipped (target ≤ 4 MB zipped)."
        )
    else:
        lines.append("- Sésame: `make package` failed in this run (no figure).")
    if "layer" in sizes:
        z, u = sizes["layer"]
        lines.append(
            f"- Its layer `build/dev/signin-layer.zip` (PyJWT, cryptography, ldap3: "
            f"`requirements-layer.txt`): **{z / mb:.2f} MB** zipped, {u / mb:.2f} MB unzipped "
            "(loaded only by the sign-in callback and an LDAP directory, never on `GET /`)."
        )
    if "hello" in sizes:
        z, u = sizes["hello"]
        lines.append(
            f"- Chalice hello-world with the same `requirements.txt`: {z / mb:.2f} MB zipped, "
            f"{u / mb:.2f} MB unzipped."
        )
    else:
        lines.append("- Chalice hello-world with the same requirements: not packaged in this run.")
    lines += [
        "",
        "### Cost per 1,000 access requests",
        "",
        f"One access request = {', '.join(ONE_REQUEST)}: {cost['invocations']:.0f} Lambda "
        f"invocations through API Gateway, {cost['wru']:.0f} WRU, {cost['rru']:.0f} RRU, "
        f"{cost['emails']:.0f} e-mails, {cost['seconds'] * 1000:.0f} ms of Lambda time "
        "(the in-process medians above at 512 MB, i.e. moto's CPU stands in for the round trips).",
        "",
        f"List prices assumed on {PRICE_DATE} (USD, ca-central-1, no free tier): Lambda "
        "$0.20 per million requests and $0.0000166667 per GB-s; API Gateway REST $3.50 per "
        "million; DynamoDB on-demand $0.6875 per million WRU and $0.1375 per million RRU "
        "(a transactional write costs 2 WRU per KB per item); SES $0.10 per 1,000 e-mails.",
        "",
        "| item | USD per 1,000 requests |",
        "|---|---|",
    ]
    for key in (
        "Lambda requests",
        "Lambda duration",
        "API Gateway",
        "DynamoDB writes",
        "DynamoDB reads",
        "SES",
        "total",
    ):
        lines.append(f"| {key} | {cost[key]:.4f} |")
    lines += ["", END]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--flows", type=int, default=50)
    parser.add_argument("--cold", type=int, default=10)
    parser.add_argument("--scale", default="100,10000,100000")
    parser.add_argument("--scale-runs", type=int, default=3)
    parser.add_argument("--write", type=Path)
    parser.add_argument("--cold-only", action="store_true", help="only the cold start, printed")
    args = parser.parse_args()
    import logging

    logging.disable(logging.INFO)
    if args.cold_only:
        print("\n".join(cold_start_section(cold_start(args.cold))))
        return
    text = report(args)
    print(text)
    if args.write:
        doc = args.write.read_text()
        if BEGIN in doc and END in doc:
            head, rest = doc.split(BEGIN, 1)
            doc = head + text + rest.split(END, 1)[1]
        else:
            doc = (
                doc.rstrip()
                + "\n\n## Use cases: cold start, calls, latency, size, cost\n\n"
                + text
                + "\n"
            )
        args.write.write_text(doc)


if __name__ == "__main__":
    main()
