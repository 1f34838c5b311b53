"""`make load`: concurrent clients through whole journeys against the local stack, reconciled.

    python -m bench.load [--clients 20] [--requests 500] [--max-seconds 200]

Starts `python -m local_stack` on 127.0.0.1 (free ports, a fresh state folder), then runs
`--clients` threads, each filing a request and walking it to the end (form, confirm, the
manager's and an officer's decisions: 8 HTTP requests a journey, links read from the dev
outbox as a person reads their mail) until `--requests` app requests were made or the time is
up. Prints throughput, p50/p95 latency, errors, and a reconciliation: every 2xx submission is
stored, every decision has its audit event and its e-mail, the audit chain verifies.
Exit 1 on any 5xx, lost request, missing event or e-mail.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parent.parent
MANAGER = "jean.gestion@mcn.gouv.qc.ca"
OFFICER = "securite.demo@mcn.gouv.qc.ca"
CSRF = re.compile(r'name="(csrf|form_token)" value="([^"]+)"')
MAIN, AUDIT = "sesame-local-main", "sesame-local-audit"
STACK_ARGS = ("--port", "0", "--emulator-port", "0")
# A person waits this long for a page; beyond it, the answer counts as none (status 0).
CLIENT_TIMEOUT = 120


def load_policies(folder: Path) -> Path:
    """Copy the policies with the per-source submission limit lifted: every client of the run
    comes from 127.0.0.1, which the real limit (issue 13) would stop after a few dozen."""
    target = folder / "policies"
    shutil.copytree(ROOT / "policies", target)
    rules = target / "rules.toml"
    text, found = re.subn(
        r"^max_submissions_per_source_per_hour = \d+$",
        "max_submissions_per_source_per_hour = 100000",
        rules.read_text("utf-8"),
        flags=re.MULTILINE,
    )
    if found != 1:
        raise SystemExit("rules.toml: max_submissions_per_source_per_hour not found")
    rules.write_text(text, "utf-8")
    return target


@contextmanager
def local_stack(state_dir: Path) -> Iterator[tuple[str, str]]:
    """Run the local stack in its own process; yield its URL and its emulator's URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SESAME_", "MOTO_"))}
    env["SESAME_POLICY_DIR"] = str(load_policies(state_dir.parent))
    log_path = state_dir.parent / "stack.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local_stack", *STACK_ARGS, "--state-dir", str(state_dir)],
            cwd=ROOT,
            env={**env, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = log_path.read_text("utf-8", errors="replace")
            ready = re.search(r"^ready (\S+)", text, re.MULTILINE)
            emulator = re.search(r"AWS emulator \(moto\)\s*: (\S+)", text)
            if ready and emulator:
                yield ready.group(1), emulator.group(1)
                break
            if process.poll() is not None:
                raise SystemExit("the local stack did not start:\n" + text[-3000:])
            time.sleep(0.05)  # polling the stack's log; the deadline bounds it
        else:
            raise SystemExit("the local stack did not start in 60 s")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Tally:
    """What the clients saw, shared between threads."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    journeys: list[dict[str, object]] = field(default_factory=list)
    made: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Budget(Exception):
    """The request budget or the time is spent."""


class Client:
    """One person at a browser: app requests are timed and counted; mail reading is not."""

    def __init__(self, base: str, tally: Tally, limit: int, until: float) -> None:
        self.base, self.tally, self.limit, self.until = base, tally, limit, until

    def call(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        with self.tally.lock:
            if self.tally.made >= self.limit or time.monotonic() > self.until:
                raise Budget
            self.tally.made += 1
        data = urlencode(form).encode() if form is not None else None
        started = time.perf_counter()
        try:
            request = Request(self.base + path, data=data)  # noqa: S310
            with urlopen(request, timeout=CLIENT_TIMEOUT) as answer:  # noqa: S310
                status, body = answer.status, answer.read().decode()
        except HTTPError as error:
            status, body = error.code, error.read().decode()
        except (URLError, OSError) as error:
            status, body = 0, str(error)
        elapsed = time.perf_counter() - started
        with self.tally.lock:
            self.tally.latencies.append(elapsed)
            self.tally.statuses[status] += 1
            if status >= 500 or status == 0:
                self.tally.errors.append(f"{status} {urlsplit(path).path[:20]}: {body[:200]}")
        return status, body

    def mail_link(self, to: str, about: str, kind: str) -> str:
        """Read the person's mail (the dev outbox) until the link arrives."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            url = f"{self.base}/dev/outbox.json?{urlencode({'to': to})}"
            with urlopen(url, timeout=60) as answer:  # noqa: S310
                mails = json.loads(answer.read())
            for mail in mails:
                if about in mail["text"] or about in mail["to"]:
                    for link in mail["links"]:
                        if f"/{kind}/" in link:
                            return urlsplit(link).path
            time.sleep(0.2)  # mail not there yet (a retried send): look again shortly
        raise RuntimeError(f"no {kind} link for {to} about {about}")

    def press(self, path: str, **fields: str) -> int:
        status, page = self.call(path)
        token = CSRF.search(page)
        if status != 200 or token is None:
            return status
        return self.call(path, {token.group(1): token.group(2), **fields})[0]

    def journey(self, requester: str) -> None:
        record: dict[str, object] = {"requester": requester}
        with self.tally.lock:
            self.tally.journeys.append(record)
        status, page = self.call("/")
        token = CSRF.search(page)
        if status != 200 or token is None:
            return
        form = {
            "name": "Charge Test",
            "email": requester,
            "organization": "Ministère de la Cybersécurité et du Numérique",
            "manager_email": MANAGER,
            "platforms": "linkedin",
            "purpose": "monitoring",
            "level": "read",
            "justification": "Veille du programme Accès numérique et réponses aux citoyens.",
            "duration_days": "30",
            "accept_policy": "yes",
            "form_token": token.group(2),
        }
        record["submitted"] = self.call("/", form)[0]
        if record["submitted"] != 200:
            return
        record["confirmed"] = self.press(self.mail_link(requester, requester, "confirm"))
        if record["confirmed"] != 200:
            return
        manager = self.mail_link(MANAGER, requester, "decide")
        record["manager"] = self.press(manager, decision="approve", comment="ok")
        if record["manager"] != 200:
            return
        officer = self.mail_link(OFFICER, requester, "decide")
        record["officer"] = self.press(officer, decision="approve", comment="vu")


def run_clients(base: str, clients: int, requests: int, seconds: float) -> tuple[Tally, float]:
    """Run the clients until the budget is spent; return what they saw and the wall time."""
    tally = Tally()
    until = time.monotonic() + seconds

    def client_loop(number: int) -> None:
        client = Client(base, tally, requests, until)
        for n in range(10_000):
            try:
                client.journey(f"charge.{number}.{n}@mcn.gouv.qc.ca")
            except Budget:
                return
            except Exception as error:  # a client that breaks is reported, never silent
                with tally.lock:
                    tally.errors.append(f"client {number}: {error!r}")
                return

    started = time.monotonic()
    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.monotonic() - started


def reconcile(base: str, emulator: str, tally: Tally) -> list[str]:
    """Compare what the clients were told with what is stored, audited and e-mailed."""
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": emulator,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "ca-central-1",
        }
    )
    from chalicelib import aws
    from chalicelib.store.requests import RequestStore

    client = aws.dynamodb()
    store = RequestStore(client, MAIN, AUDIT)
    stored: dict[str, list[str]] = {}
    pages = client.get_paginator("scan").paginate(
        TableName=MAIN,
        FilterExpression="SK = :r",
        ExpressionAttributeValues={":r": {"S": "REQUEST"}},
    )
    for page in pages:
        for item in page["Items"]:
            body = json.loads(item["body"]["S"])
            stored.setdefault(body["content"]["email"], []).append(body["id"])
    with urlopen(f"{base}/dev/outbox.json", timeout=120) as answer:  # noqa: S310
        mails = json.loads(answer.read())
    inbox: Counter[str] = Counter(to for mail in mails for to in mail["to"])
    problems: list[str] = []
    for journey in tally.journeys:
        who = str(journey["requester"])
        if journey.get("submitted") != 200:
            continue
        ids = stored.get(who, [])
        if len(ids) != 1:
            problems.append(f"{who}: {len(ids)} requests stored for one 2xx submission")
            continue
        request = store.load_request(ids[0])
        actions = Counter(e.action for e in store.events_for(ids[0]))
        # What the client was told: 200 (done), another answer (not done) or no answer in
        # time (status 0: either is right, the server may have finished after the client left).
        told = {k: journey.get(k) for k in ("confirmed", "manager", "officer")}
        done = {k: v == 200 for k, v in told.items()}
        maybe = {k: v == 0 for k, v in told.items()}
        expected = {
            "submitted": {1},
            "confirmed": {0, 1} if maybe["confirmed"] else {int(done["confirmed"])},
            "approved": {
                sum(done.values()) - done["confirmed"] + n
                for n in range(1 + maybe["manager"] + maybe["officer"])
            },
        }
        for action, counts in expected.items():
            if actions[action] not in counts:
                problems.append(f"{who}: {actions[action]} {action} events, expected {counts}")
        approved = request is not None and request.status.value == "approved"
        if done["officer"] and not approved:
            problems.append(f"{who}: told approved, stored {request and request.status}")
        mails = {1 + int(approved)}  # the confirmation, and the outcome once approved
        if inbox[who] not in mails:
            problems.append(f"{who}: {inbox[who]} e-mails, expected {mails}")
    verdict = store.audit.verify()
    if not verdict.intact:
        problems.append(f"audit chain: {verdict.summary()}")
    print(f"audit chain: {verdict.summary()}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Run the load, print the figures and the reconciliation; exit 1 on any problem."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=500, help="app requests in all")
    parser.add_argument("--max-seconds", type=float, default=200)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="sesame-load-") as folder,
        local_stack(Path(folder) / "state") as (base, emulator),
    ):
        tally, wall = run_clients(base, args.clients, args.requests, args.max_seconds)
        problems = reconcile(base, emulator, tally)
    latencies = sorted(tally.latencies)
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    finished = sum(1 for j in tally.journeys if j.get("officer") == 200)
    server_errors = sum(n for status, n in tally.statuses.items() if status >= 500 or status == 0)
    print(
        f"clients {args.clients}, app requests {len(latencies)} in {wall:.1f} s: "
        f"{len(latencies) / wall:.1f} requests/s; journeys finished {finished} "
        f"of {len(tally.journeys)} started"
    )
    print(
        f"latency p50 {quantiles[49] * 1000:.0f} ms, p95 {quantiles[94] * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms"
        if latencies
        else "no requests"
    )
    print(f"statuses {dict(sorted(tally.statuses.items()))}; 5xx or no answer: {server_errors}")
    for error in tally.errors[:10]:
        print(f"  error: {error}")
    print(f"reconciliation: {len(problems)} problems")
    for problem in problems[:20]:
        print(f"  {problem}")
    return 1 if problems or server_errors or tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())
