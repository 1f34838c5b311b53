"""Two approvers at the same instant: one decision. DynamoDB trouble: 503, nothing half done."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError
from chalice.test import Client

from chalicelib.domain.errors import AlreadyDecided, Conflict
from chalicelib.domain.models import ClientInfo, RequestStatus
from chalicelib.service.context import get_services
from chalicelib.service.decide import decide_step
from tests.integration.conftest import file_request, html, item_counts, link_with, outbox, press

pytestmark = pytest.mark.integration
ROUNDS = 15


def _security_step_links(client: Client) -> list[str]:
    file_request(client, email=f"r{len(outbox())}@mcn.gouv.qc.ca")
    press(client, link_with(outbox()[0], "confirm"))
    press(client, link_with(outbox()[0], "decide"), decision="approve")
    return [link_with(mail, "decide").rsplit("/", 1)[1] for mail in outbox()[:2]]


class SerialisedClient:
    """DynamoDB serialises each call; in-process moto is not thread-safe, so one lock stands in."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return locked


def test_two_officers_deciding_at_once_give_exactly_one_decision(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = get_services()
    store = services.store
    serialised = SerialisedClient(store._client)
    monkeypatch.setattr(store, "_client", serialised)
    monkeypatch.setattr(store.audit, "_client", serialised)
    apply_transition = store.apply_transition
    for _ in range(ROUNDS):
        tokens = _security_step_links(client)
        # Both deciders read the same version before either writes: the worst interleaving.
        both_read = threading.Barrier(len(tokens))

        def write_after_both_read(
            *args: Any, barrier: threading.Barrier = both_read, **kwargs: Any
        ) -> None:
            barrier.wait(timeout=10)
            apply_transition(*args, **kwargs)

        monkeypatch.setattr(store, "apply_transition", write_after_both_read)
        results: list[Any] = []

        def decide(token: str, verdict: str, results: list[Any] = results) -> None:
            try:
                results.append(
                    decide_step(services, token, verdict, "concurrent", ClientInfo())  # type: ignore[arg-type]
                )
            except (AlreadyDecided, Conflict) as lost:
                results.append(lost)

        threads = [
            threading.Thread(target=decide, args=(tokens[0], "approve")),
            threading.Thread(target=decide, args=(tokens[1], "refuse")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        monkeypatch.setattr(store, "apply_transition", apply_transition)
        winners = [r for r in results if not isinstance(r, Exception)]
        assert len(results) == 2
        assert len(winners) == 1, results
        stored = services.store.load_request(winners[0].id)
        assert stored is not None
        assert stored.status in (RequestStatus.APPROVED, RequestStatus.REFUSED)
        assert stored.version == 4
        events = services.store.events_for(stored.id)
        assert [e.action for e in events].count("submitted") == 1
        assert len([e for e in events if e.step == 1]) == 1, events


def test_throttling_gives_503_with_retry_after_and_changes_nothing(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_request(client)
    confirm_path = link_with(outbox()[0], "confirm")
    page = client.http.get(confirm_path)
    before = (item_counts(), len(outbox()))
    store = get_services().store

    def throttled(**_: object) -> None:
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "slow down"}},
            "TransactWriteItems",
        )

    monkeypatch.setattr(store._client, "transact_write_items", throttled)
    csrf = html(page).split('name="csrf" value="')[1].split('"')[0]
    from tests.integration.conftest import post_form

    response = post_form(client, confirm_path, {"csrf": csrf})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "momentanément indisponible" in html(response)
    assert (item_counts(), len(outbox())) == before
