"""Races at scale over HTTP against moto's server: approve/approve, approve/refuse and
decide/withdraw, SESAME_RACE_ROUNDS rounds each (200 by default).

The full journey to the security step costs a dozen HTTP calls and some forty emulator calls
per round; 600 rounds that way take far longer than the suite's budget. So the rounds'
requests are seeded in bulk (BatchWriteItem, the same items the store writes, built by the
pure domain functions) with links whose raw tokens the test knows, and only the decisive POSTs
race over HTTP, a few rounds at a time. At the end the audit chain must verify, unforked.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.models import LinkKind, LinkToken
from chalicelib.domain.submission import validate_submission
from chalicelib.domain.workflow import confirm, content_hash, decide, new_request
from chalicelib.service.links import new_token, token_hash
from chalicelib.store.requests import RequestStore
from chalicelib.web import signing
from tests.conftest import PROJECT_ROOT, valid_form
from tests.integration.stack_process import fetch, running_stack
from tests.integration.test_concurrent_decisions import mail_link, post

pytestmark = pytest.mark.integration
# 200 rounds of each kind (about 2 minutes a kind on 2 cores; the emulator answers one call at
# a time). SESAME_RACE_ROUNDS changes the count for a quick local run.
ROUNDS = int(os.environ.get("SESAME_RACE_ROUNDS", "200"))
# Rounds racing together: one pair at a time is fastest (the emulator answers one call at a
# time, and more writers only add chain contention); more than two pairs overflow the local
# server's listen backlog of five.
AT_ONCE = int(os.environ.get("SESAME_RACES_AT_ONCE", "1"))
MAIN, AUDIT = "sesame-local-main", "sesame-local-audit"
MANAGER = "jean.gestion@mcn.gouv.qc.ca"
OFFICERS = ("securite.demo@mcn.gouv.qc.ca", "rssi.demo@mcn.gouv.qc.ca")
REQUESTER = "course.retrait@mcn.gouv.qc.ca"
DECISIVE = {"approved", "refused", "withdrawn"}


@dataclass(frozen=True)
class Seeded:
    """A request at the security step, and each officer's raw link token."""

    request_id: str
    tokens: tuple[str, str]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, object]]:
    """The local stack in its own process; its state folder; a DynamoDB client on its emulator."""
    state = tmp_path_factory.mktemp("races") / "state"
    with running_stack(state) as base_url:
        fetch(f"{base_url}/")  # the first request settles the stack's settings and secret
        log = (state.parent / f"{state.name}-stack.log").read_text("utf-8")
        found = re.search(r"AWS emulator \(moto\)\s*: (\S+)", log)
        assert found, log
        client = boto3.client(
            "dynamodb",
            endpoint_url=found.group(1),
            region_name="ca-central-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        yield base_url, state, client


def seed(client: object, count: int, requester: str, prefix: str) -> list[Seeded]:
    """Write `count` requests at the security step (the manager approved), in bulk."""
    policy = load_policy(PROJECT_ROOT / "policies")
    store = RequestStore(client, MAIN, AUDIT)  # type: ignore[arg-type]
    content = validate_submission(valid_form(email=requester), policy).content
    assert content is not None
    now = datetime.now(UTC)
    seeded, puts = [], []
    for n in range(count):
        request = new_request(f"{prefix}{n:05d}", content, policy, "fr", now)
        request = decide(confirm(request, now), 0, MANAGER, "approve", "", now, "link")
        tokens = tuple(f"{request.id}.{new_token()}" for _ in OFFICERS)
        links = [
            LinkToken(
                token_hash=token_hash(token),
                kind=LinkKind.DECIDE,
                request_id=request.id,
                step=1,
                approver=officer,
                content_hash=content_hash(request),
                created_at=now,
                expires_at=now + timedelta(days=7),
            )
            for token, officer in zip(tokens, OFFICERS, strict=True)
        ]
        items = [
            *store._assignment_changes(None, request),
            store._request_put(request, "attribute_not_exists(PK)", {}),
            *(store._token_put(link) for link in links),
        ]
        puts += [{"PutRequest": {"Item": i["Put"]["Item"]}} for i in items]
        seeded.append(Seeded(request.id, tokens))  # type: ignore[arg-type]
    for start in range(0, len(puts), 25):
        client.batch_write_item(RequestItems={MAIN: puts[start : start + 25]})  # type: ignore[attr-defined]
    return seeded


def csrf(secret: bytes, token: str) -> str:
    """The page token a decision page would carry (the same secret and binding)."""
    return signing.issue(secret, "link", token_hash(token), datetime.now(UTC))


def race(base_url: str, presses: list[tuple[str, dict[str, str]]]) -> list[tuple[int, str]]:
    """POST every form at once (threads released together); return statuses and pages."""
    results: list[tuple[int, str]] = [(0, "")] * len(presses)
    ready = threading.Barrier(len(presses))

    def press(index: int, path: str, fields: dict[str, str]) -> None:
        ready.wait(timeout=30)
        results[index] = post(f"{base_url}{path}", fields)

    threads = [
        threading.Thread(target=press, args=(i, path, fields))
        for i, (path, fields) in enumerate(presses)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def sign_in_requester(base_url: str) -> tuple[str, str]:
    """Sign the requester in over HTTP; return the cookie and the session's form token."""
    import http.cookiejar
    import urllib.request

    page = fetch(f"{base_url}/login")
    token = re.search(r'name="form_token" value="([^"]+)"', page)
    assert token
    fetch(f"{base_url}/login", {"email": [REQUESTER], "form_token": [token.group(1)]})
    path = mail_link(base_url, REQUESTER, None, "login")
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    confirm_page = fetch(f"{base_url}{path}")
    signin_csrf = re.search(r'name="csrf" value="([^"]+)"', confirm_page)
    assert signin_csrf
    from urllib.parse import urlencode

    opener.open(
        f"{base_url}{path}", data=urlencode({"csrf": signin_csrf.group(1)}).encode(), timeout=30
    )
    cookie = next(c for c in jar if "sesame-session" in c.name)
    request = urllib.request.Request(  # noqa: S310
        f"{base_url}/me", headers={"Cookie": f"{cookie.name}={cookie.value}"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        me = answer.read().decode()
    session_csrf = re.search(r'name="csrf" value="([^"]+)"', me)
    assert session_csrf
    return f"{cookie.name}={cookie.value}", session_csrf.group(1)


def post_with_cookie(url: str, fields: dict[str, str], cookie: str) -> tuple[int, str]:
    """POST a form with a session cookie, without following the redirect."""
    import http.client
    from urllib.parse import urlencode, urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    connection.request(
        "POST",
        parts.path,
        body=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    answer = connection.getresponse()
    status, body = answer.status, answer.read().decode()
    connection.close()
    return status, body


@pytest.mark.parametrize("kind", ["approve/approve", "approve/refuse", "decide/withdraw"])
def test_two_people_acting_at_once_give_one_outcome(
    stack: tuple[str, Path, object], kind: str
) -> None:
    base_url, state, client = stack
    secret = (state / "secret").read_text("ascii").strip().encode("ascii")
    requester = REQUESTER if kind == "decide/withdraw" else f"course.{kind[8:]}@mcn.gouv.qc.ca"
    cookie, session_csrf = sign_in_requester(base_url) if kind == "decide/withdraw" else ("", "")
    started = time.monotonic()
    rounds = seed(client, ROUNDS, requester, "race" + kind.replace("/", ""))
    seeded_in = time.monotonic() - started
    outcomes: list[tuple[int, int]] = []
    for start in range(0, len(rounds), AT_ONCE):
        batch = rounds[start : start + AT_ONCE]
        if kind == "decide/withdraw":
            results = _decide_and_withdraw(base_url, batch, secret, cookie, session_csrf)
        else:
            second = "approve" if kind == "approve/approve" else "refuse"
            presses = []
            for seeded in batch:
                for token, verdict in zip(seeded.tokens, ("approve", second), strict=True):
                    fields = {"csrf": csrf(secret, token), "decision": verdict, "comment": "course"}
                    presses.append((f"/decide/{token}", fields))
            results = race(base_url, presses)
        for index in range(0, len(results), 2):
            pair = results[index : index + 2]
            statuses = sorted(status for status, _ in pair)
            assert all(s < 500 for s in statuses), pair
            outcomes.append((statuses[0], statuses[1]))
    elapsed = time.monotonic() - started
    print(f"\n{kind}: {ROUNDS} rounds, seeded in {seeded_in:.1f} s, {elapsed:.1f} s in all")
    winners = {
        "approve/approve": [(200, 409)],
        "approve/refuse": [(200, 409)],
        "decide/withdraw": [(200, 409), (200, 410), (303, 409), (303, 410)],
    }[kind]
    assert set(outcomes) <= set(winners), set(outcomes) - set(winners)
    # Exactly one outcome per request, and its audit event once (one scan, not a query each).
    store = RequestStore(client, MAIN, AUDIT)  # type: ignore[arg-type]
    ours = {seeded.request_id for seeded in rounds}
    outcomes_stored: Counter[str] = Counter()
    for page in client.get_paginator("scan").paginate(TableName=MAIN):  # type: ignore[attr-defined]
        for item in page["Items"]:
            if item["SK"]["S"] == "REQUEST" and item["PK"]["S"].split("#", 1)[1] in ours:
                outcomes_stored[item["status"]["S"]] += 1
    assert sum(outcomes_stored.values()) == len(rounds)
    assert set(outcomes_stored) <= {"approved", "refused", "withdrawn"}, outcomes_stored
    events: Counter[str] = Counter()
    for page in client.get_paginator("scan").paginate(TableName=AUDIT):  # type: ignore[attr-defined]
        for item in page["Items"]:
            body = json.loads(item["body"]["S"]) if "body" in item else {}
            if body.get("request_id") in ours and body.get("action") in DECISIVE:
                events[body["request_id"]] += 1
    assert sorted(events.values()) == [1] * len(rounds), [k for k, v in events.items() if v != 1]
    verdict = store.audit.verify()
    assert verdict.intact, verdict.summary()


def _decide_and_withdraw(
    base_url: str, batch: list[Seeded], secret: bytes, cookie: str, session_csrf: str
) -> list[tuple[int, str]]:
    results: list[tuple[int, str]] = [(0, "")] * (2 * len(batch))
    ready = threading.Barrier(2 * len(batch))

    def approve(index: int, token: str) -> None:
        fields = {"csrf": csrf(secret, token), "decision": "approve", "comment": "course"}
        ready.wait(timeout=30)
        results[index] = post(f"{base_url}/decide/{token}", fields)

    def withdraw(index: int, request_id: str) -> None:
        url = f"{base_url}/me/requests/{request_id}/withdraw"
        ready.wait(timeout=30)
        results[index] = post_with_cookie(url, {"csrf": session_csrf}, cookie)

    threads = []
    for n, seeded in enumerate(batch):
        threads.append(threading.Thread(target=approve, args=(2 * n, seeded.tokens[0])))
        threads.append(threading.Thread(target=withdraw, args=(2 * n + 1, seeded.request_id)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
