"""Sésame's use cases, driven in-process through Chalice's test client against in-process
moto, with every AWS call the app's clients make counted by botocore's event hooks.

Shared by the pinned call counts (tests/integration/test_call_counts.py) and the benchmarks
(bench/run.py). Each use case is measured on its own: the setup it needs (filing a request,
opening the page that carries the CSRF token) happens before the counter or clock starts.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from chalice.test import Client

from chalicelib import aws
from tests.integration.conftest import hidden, html, link_with, outbox, post_form
from tests.integration.people import OFFICER, get, sign_in

# The use cases of the issue, in order; "(page)" is the GET of an e-mailed link, which
# audits its reader (one append) and changes nothing else.
USE_CASES = (
    "form page",
    "submit (first under a policy version)",
    "submit",
    "confirm (page)",
    "confirm",
    "manager decision (page)",
    "manager decision",
    "officer decision (page)",
    "officer decision",
    "status page",
    "console queue page",
    "audit page",
    "reminder sweep (first under a policy version)",
    "reminder sweep, nothing due",
)


class CallCounter:
    """Counts every DynamoDB, SES and EventBridge operation the app's clients make, by name."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def take(self) -> dict[str, int]:
        """Return the calls counted since the last take, and start again."""
        taken = dict(sorted(self.calls.items()))
        self.calls.clear()
        return taken


@contextmanager
def counting() -> Iterator[CallCounter]:
    """Count the calls of the app's DynamoDB, SES and EventBridge clients while the block runs."""
    counter = CallCounter()
    clients = (aws.dynamodb(), aws.ses(), aws.events())
    for boto_client in clients:
        boto_client.meta.events.register("before-call", counter)
    try:
        yield counter
    finally:
        for boto_client in clients:
            boto_client.meta.events.unregister("before-call", counter)


@dataclass
class Step:
    """One use case: `prepare` runs untimed and returns what `run` needs."""

    prepare: Callable[[], Any]
    run: Callable[[Any], Any]


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, html(response)[:500])
    return response


def _page_and_csrf(client: Client, path: str) -> tuple[str, str]:
    page = html(_ok(client.http.get(path)))
    return path, hidden(page, "csrf")


class Flow:
    """Walks one request through every use case; each `Step` is one use case."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.cookie = sign_in(client, OFFICER)
        self.confirmation: Any = None
        self.filed = 0

    def _form_token(self) -> dict[str, list[str]]:
        from tests.conftest import valid_form

        # A new requester each time: the policy limits the open requests of one requester.
        self.filed += 1
        form = valid_form(email=f"agent{self.filed}@mcn.gouv.qc.ca")
        page = html(_ok(self.client.http.get("/?lang=fr")))
        form["form_token"] = [hidden(page, "form_token")]
        form["lang"] = ["fr"]
        return form

    def _decide_path(self) -> str:
        return link_with(outbox()[0], "decide")

    def steps(self) -> dict[str, Step]:
        client = self.client
        none: Callable[[], None] = lambda: None  # noqa: E731

        def submit_run(form: dict[str, list[str]]) -> None:
            _ok(post_form(client, "/", form))
            self.confirmation = outbox()[0]

        def press(prepared: tuple[str, str], **fields: str) -> None:
            path, csrf = prepared
            _ok(post_form(client, path, {"csrf": csrf, **fields}))

        return {
            "form page": Step(none, lambda _: _ok(client.http.get("/?lang=fr"))),
            "submit": Step(self._form_token, submit_run),
            "confirm (page)": Step(
                lambda: link_with(self.confirmation, "confirm"),
                lambda path: _ok(client.http.get(path)),
            ),
            "confirm": Step(
                lambda: _page_and_csrf(client, link_with(self.confirmation, "confirm")),
                press,
            ),
            "manager decision (page)": Step(
                self._decide_path, lambda path: _ok(client.http.get(path))
            ),
            "manager decision": Step(
                lambda: _page_and_csrf(client, self._decide_path()),
                lambda prepared: press(prepared, decision="approve"),
            ),
            "officer decision (page)": Step(
                self._decide_path, lambda path: _ok(client.http.get(path))
            ),
            "officer decision": Step(
                lambda: _page_and_csrf(client, self._decide_path()),
                lambda prepared: press(prepared, decision="approve"),
            ),
            "status page": Step(
                lambda: link_with(self.confirmation, "status"),
                lambda path: _ok(client.http.get(path)),
            ),
            "console queue page": Step(
                none, lambda _: _ok(get(client, "/console/requests", self.cookie))
            ),
            "audit page": Step(none, lambda _: _ok(get(client, "/console/audit", self.cookie))),
            "reminder sweep, nothing due": Step(none, lambda _: lifecycle_sweep(client)),
        }


def _scheduled(client: Client, function: str) -> Any:
    event = client.events.generate_cw_event(
        source="aws.events",
        detail_type="Scheduled Event",
        detail={},
        resources=[],
        region=os.environ.get("AWS_DEFAULT_REGION", "ca-central-1"),
    )
    return client.lambda_.invoke(function, event)


def sweep(client: Client) -> Any:
    """Invoke the scheduled delivery sweep as Lambda would."""
    return _scheduled(client, "deliver_pending_email")


def lifecycle_sweep(client: Client) -> Any:
    """Invoke the scheduled lifecycle job (reminders, hand-over, expiry) as Lambda would."""
    return _scheduled(client, "run_lifecycle")


# The order one request goes through; the first submit of the process also records the
# policy version it was filed under.
WALK = (
    ("form page", "form page"),
    ("submit (first under a policy version)", "submit"),
    ("submit", "submit"),
    ("confirm (page)", "confirm (page)"),
    ("confirm", "confirm"),
    ("manager decision (page)", "manager decision (page)"),
    ("manager decision", "manager decision"),
    ("officer decision (page)", "officer decision (page)"),
    ("officer decision", "officer decision"),
    ("status page", "status page"),
    ("console queue page", "console queue page"),
    ("audit page", "audit page"),
    ("reminder sweep (first under a policy version)", "reminder sweep, nothing due"),
    ("reminder sweep, nothing due", "reminder sweep, nothing due"),
)


def calls_per_use_case(client: Client) -> dict[str, dict[str, int]]:
    """Walk a request through every use case once; return the AWS calls of each."""
    flow = Flow(client)
    steps = flow.steps()
    found: dict[str, dict[str, int]] = {}
    with counting() as counter:
        for label, name in WALK:
            prepared = steps[name].prepare()
            counter.take()
            steps[name].run(prepared)
            found[label] = counter.take()
    return found
