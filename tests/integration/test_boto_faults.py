"""Faults injected at the boto3 boundary (event hooks on the real clients, moto behind them).

DynamoDB throttling, internal errors, timeouts and conditional failures on submit, confirm
and both decisions: 503 with Retry-After or a 4xx, nothing half done, never "approved" on an
error. A timeout after DynamoDB committed: the answer is 503, a retry says "already decided",
and the e-mail the transition wrote comes from the sweep. SES throttling and rejection on a
decision: the decision stands, and the e-mail is delivered later or marked failed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from chalice.test import Client

from chalicelib import aws
from chalicelib.dev.events import published_events
from chalicelib.domain.models import RequestStatus
from chalicelib.service.context import get_services
from tests.conftest import valid_form
from tests.integration.conftest import (
    BUS,
    file_request,
    hidden,
    html,
    link_with,
    outbox,
    post_form,
    state_counts,
)
from tests.integration.people import request_id_of
from tests.integration.test_outbox import sweep

pytestmark = pytest.mark.integration


def _error(code: str, status: int, reasons: list[str] | None = None) -> tuple[Any, dict[str, Any]]:
    parsed: dict[str, Any] = {"Error": {"Code": code, "Message": code}}
    if reasons is not None:
        parsed["CancellationReasons"] = [{"Code": r} for r in reasons]
    return AWSResponse("https://dynamodb", status, {}, None), parsed


def _conflict(params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Someone else changed the first item: DynamoDB cancels with per-item reasons."""
    count = len(json.loads(params["body"])["TransactItems"])
    return _error(
        "TransactionCanceledException", 400, ["ConditionalCheckFailed"] + ["None"] * (count - 1)
    )


def _timeout(**_: Any) -> None:
    raise ReadTimeoutError(endpoint_url="https://dynamodb.ca-central-1.amazonaws.com")


# fault name -> (before-call handler, expected status)
FAULTS: dict[str, tuple[Callable[..., Any], int]] = {
    "throttled": (lambda **_: _error("ThrottlingException", 400), 503),
    "capacity": (lambda **_: _error("ProvisionedThroughputExceededException", 400), 503),
    "internal error": (lambda **_: _error("InternalServerError", 500), 503),
    "timeout": (_timeout, 503),
    "conditional failure": (lambda params, **_: _conflict(params), 409),
}


@pytest.fixture
def inject(client: Client) -> Iterator[Callable[[str, str, Callable[..., Any]], None]]:
    """Hook a fault on one DynamoDB operation of the app's client, once; unhooked after."""
    events = get_services().store._client.meta.events
    hooked: list[tuple[str, Callable[..., Any]]] = []

    def hook(moment: str, operation: str, fault: Callable[..., Any]) -> None:
        fired = {"done": False}

        def once(**kwargs: Any) -> Any:
            if fired["done"]:
                return None
            fired["done"] = True
            return fault(**kwargs)

        name = f"{moment}-call.dynamodb.{operation}"
        events.register(name, once)
        hooked.append((name, once))

    yield hook
    for name, handler in hooked:
        events.unregister(name, handler)


def _journey_to(client: Client, stage: str) -> tuple[str, dict[str, Any]]:
    """Walk a request up to `stage`; return the path to POST and its form."""
    if stage == "submit":
        page = html(client.http.get("/"))
        return "/", {**valid_form(), "form_token": [hidden(page, "form_token")]}
    file_request(client)
    path = link_with(outbox()[0], "confirm")
    if stage != "confirm":
        post_form(client, path, {"csrf": hidden(html(client.http.get(path)), "csrf")})
        path = link_with(outbox()[0], "decide")
    if stage == "final decision":
        form = {"csrf": hidden(html(client.http.get(path)), "csrf"), "decision": "approve"}
        post_form(client, path, form)
        path = link_with(outbox()[0], "decide")
    form = {"csrf": hidden(html(client.http.get(path)), "csrf"), "decision": "approve"}
    return path, form


def _statuses() -> list[str]:
    items = get_services().store._client.scan(TableName="sesame-test-main")["Items"]
    return sorted(i["status"]["S"] for i in items if i["SK"]["S"] == "REQUEST")


@pytest.mark.parametrize("stage", ["submit", "confirm", "manager decision", "final decision"])
def test_each_dynamodb_fault_answers_cleanly_and_changes_nothing(
    client: Client, inject: Any, stage: str
) -> None:
    path, form = _journey_to(client, stage)
    before, sent, statuses = state_counts(), len(outbox()), _statuses()
    for fault, (handler, status) in FAULTS.items():
        inject("before", "TransactWriteItems", handler)
        expected = status
        response = post_form(client, path, form)
        page = html(response)
        if stage == "submit" and fault == "conditional failure":
            expected = 400  # the one-time form key looks used: the form asks to send it again
        assert response.status_code == expected, (fault, page[:1500])
        if expected == 503:
            assert response.headers["Retry-After"] == "5"
            assert "momentanément indisponible" in page
        assert "Traceback" not in page and "botocore" not in page
        assert (state_counts(), len(outbox()), _statuses()) == (before, sent, statuses), fault
        assert "approved" not in _statuses()
    # Once DynamoDB is healthy again, the same press works, once.
    retry = post_form(client, path, form)
    assert retry.status_code == 200, html(retry)[:1500]
    assert len(outbox()) > sent


# The one read each use case makes before writing (tests/integration/test_call_counts.py): a
# decision reads everything with its link in one BatchGetItem; a submission reads the audit
# chain's head with a GetItem.
@pytest.mark.parametrize(
    ("stage", "operation"), [("manager decision", "BatchGetItem"), ("submit", "GetItem")]
)
def test_a_failing_read_answers_503_and_changes_nothing(
    client: Client, inject: Any, stage: str, operation: str
) -> None:
    path, form = _journey_to(client, stage)
    before, sent = state_counts(), len(outbox())
    inject("before", operation, FAULTS["throttled"][0])
    response = post_form(client, path, form)
    assert response.status_code == 503, html(response)[:800]
    assert response.headers["Retry-After"] == "5"
    assert (state_counts(), len(outbox())) == (before, sent)


def test_a_timeout_after_the_commit_leaves_one_decision_and_the_sweep_sends_its_mail(
    client: Client, inject: Any
) -> None:
    path, form = _journey_to(client, "final decision")
    status_path = link_with(outbox()[-1], "status")
    sent = len(outbox())
    inject("after", "TransactWriteItems", _timeout)
    first = post_form(client, path, form)
    assert first.status_code == 503
    request = get_services().store.load_request(request_id_of(client, status_path))
    assert request is not None and request.status == RequestStatus.APPROVED  # it did commit
    assert len(outbox()) == sent  # ... but the e-mail was never sent
    retry = post_form(client, path, form)
    assert retry.status_code == 409
    assert "Décision déjà prise" in html(retry)
    # The e-mail and the AccessGranted event for provisioning, each once.
    assert sweep(client, hours=1) == {"sent": 2, "retry": 0, "failed": 0, "skipped": 0}
    assert [e["detail_type"] for e in published_events(BUS)] == ["AccessGranted"]
    (approved,) = outbox()[: len(outbox()) - sent]
    assert approved.to == ["marie.tremblay@mcn.gouv.qc.ca"] and "/status/" in approved.links[0]
    assert sweep(client, hours=2)["sent"] == 0
    events = [e.action for e in get_services().store.events_for(request.id)]
    assert events.count("approved") == 2  # the manager's and the officer's: once each


@pytest.mark.parametrize(
    ("code", "swept"),
    [
        ("Throttling", {"sent": 1, "retry": 0, "failed": 0, "skipped": 0}),
        ("ServiceUnavailable", {"sent": 1, "retry": 0, "failed": 0, "skipped": 0}),
        ("MessageRejected", {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}),
    ],
)
def test_ses_failing_on_a_decision_keeps_it_and_the_mail_is_delivered_or_marked_failed(
    client: Client, monkeypatch: pytest.MonkeyPatch, code: str, swept: dict[str, int]
) -> None:
    from tests.integration.test_outbox import ses_failing

    path, form = _journey_to(client, "final decision")
    sent = len(outbox())
    monkeypatch.setattr(aws.ses(), "send_raw_email", ses_failing(1, code))
    decided = post_form(client, path, form)
    assert decided.status_code == 200  # the decision stands; the e-mail waits
    assert len(outbox()) == sent
    assert sweep(client, hours=1) == swept
    assert len(outbox()) == sent + swept["sent"]
    pending = [
        get_services().store.outbox_status(i)
        for i in _outbox_ids()
        if (get_services().store.outbox_status(i) or ("", ""))[0] != "sent"
    ]
    assert pending == ([] if swept["sent"] else [("failed", code)])


def _outbox_ids() -> list[str]:
    items = get_services().store._client.scan(TableName="sesame-test-main")["Items"]
    return [i["PK"]["S"].split("#", 1)[1] for i in items if i["PK"]["S"].startswith("OUTBOX#")]
