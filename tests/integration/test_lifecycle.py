"""Time runs the lifecycle: reminders, hand-over, expiry, ending notice and end of a grant,
on a frozen clock, counting working days (weekends and the policy's holidays skipped)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from chalicelib.dev.events import published_events
from chalicelib.domain.models import RequestStatus
from chalicelib.service.context import get_services
from tests.integration.conftest import (
    BUS,
    file_request,
    html,
    link_with,
    outbox,
    post_form,
    press,
)
from tests.integration.people import (
    MANAGER,
    OFFICER,
    OTHER_OFFICER,
    REQUESTER,
    get,
    sign_in,
)

pytestmark = pytest.mark.integration
QUEBEC = ZoneInfo("America/Toronto")
# Monday 21 December 2026, 10:00 in Québec. Then: 24, 25 and 28 December, 31 December,
# 1 and 4 January are listed holidays (policies/holidays.toml), plus the weekends.
MONDAY = datetime(2026, 12, 21, 10, 0, tzinfo=QUEBEC)


class FrozenClock:
    """The services' clock, set by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(client: Client) -> Iterator[FrozenClock]:
    services = get_services()
    real = services.clock
    frozen = FrozenClock(MONDAY)
    services.clock = frozen
    yield frozen
    services.clock = real


def run_jobs(client: Client, clock: FrozenClock, at: datetime) -> dict[str, int]:
    """Set the clock and invoke the scheduled lifecycle function as Lambda would."""
    clock.now = at
    event = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
    return dict(client.lambda_.invoke("run_lifecycle", event).payload)


def acted(report: dict[str, Any]) -> dict[str, int]:
    """Keep the non-zero counts of a job report."""
    return {key: count for key, count in report.items() if count}


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """An instant in Québec time."""
    return datetime(year, month, day, hour, minute, tzinfo=QUEBEC)


def pending_request(client: Client) -> str:
    """File and confirm a request (at the clock's time); return the manager's decide link."""
    assert file_request(client).status_code == 200
    assert press(client, link_with(outbox()[0], "confirm")).status_code == 200
    (manager_mail,) = [m for m in outbox() if m.to == [MANAGER]]
    return link_with(manager_mail, "decide")


def the_request_id() -> str:
    """The id of the one request the test filed."""
    (request,) = get_services().store.console.requests_of(REQUESTER)
    return request.id


def audit_actions() -> list[str]:
    """The request's audit actions, oldest first (links opened left out)."""
    events = get_services().store.events_for(the_request_id())
    return [e.action for e in events if e.action != "link_opened"]


def test_a_waiting_request_is_reminded_twice_handed_over_then_expires_on_working_days(
    client: Client, clock: FrozenClock
) -> None:
    manager_link = pending_request(client)
    sent_before = len(outbox())

    # Two working days after Monday 10:00 is Wednesday 23 December 10:00, not a minute before.
    assert acted(run_jobs(client, clock, local(2026, 12, 23, 9, 59))) == {}
    assert acted(run_jobs(client, clock, local(2026, 12, 23))) == {"remind": 1}
    (reminder,) = outbox()[: len(outbox()) - sent_before]
    assert reminder.to == [MANAGER]
    assert reminder.subject.startswith("Rappel 1 :")
    # The reminder carries a fresh link; the first link still works too.
    assert client.http.get(link_with(reminder, "decide")).status_code == 200
    assert client.http.get(manager_link).status_code == 200

    # Three more working days: 29 and 30 December, then 5 January (24, 25, 28, 31 December and
    # 1 and 4 January are holidays; weekends do not count).
    assert acted(run_jobs(client, clock, local(2027, 1, 4, 23, 59))) == {}
    assert acted(run_jobs(client, clock, local(2027, 1, 5))) == {"remind": 1}
    assert outbox()[0].subject.startswith("Rappel 2 :")

    # Six working days after opening (6 January): the manager step goes to security.
    before = len(outbox())
    assert acted(run_jobs(client, clock, local(2027, 1, 6))) == {"escalate": 1}
    new = outbox()[: len(outbox()) - before]
    asked = sorted(m.to[0] for m in new if "confiée à vous" in m.subject)
    assert asked == [OTHER_OFFICER, OFFICER]
    (told_manager,) = [m for m in new if m.to == [MANAGER]]
    assert "aucune action requise" in told_manager.subject
    (told_requester,) = [m for m in new if m.to == [REQUESTER]]
    assert "confiée à d'autres approbateurs" in told_requester.subject
    # The manager's links now say the step was handed over, and change nothing.
    late = client.http.get(manager_link)
    assert late.status_code == 410
    assert "confiée à d'autres approbateurs" in html(late)

    # The officers' console queue now lists it; the manager's "my requests" no longer does.
    reference = the_request_id()[:8].upper()
    officer = sign_in(client, OFFICER)
    assert reference in html(get(client, "/console", officer))
    manager = sign_in(client, MANAGER)
    assert reference not in html(get(client, "/me", manager))

    # Fifteen working days after confirmation (19 January): nobody decided, it expires.
    officer_link = link_with(next(m for m in new if m.to == [OFFICER]), "decide")
    before = len(outbox())
    assert acted(run_jobs(client, clock, local(2027, 1, 19))) == {"expire": 1}
    (expired,) = outbox()[: len(outbox()) - before]
    assert expired.to == [REQUESTER]
    assert "a expiré sans décision" in expired.subject
    assert "Que faire ?" in expired.text
    assert any("/renew/" in link for link in expired.links)
    page = client.http.get(officer_link)
    assert page.status_code == 410
    assert "Demande expirée" in html(page)
    answer = post_form(client, officer_link, {"csrf": "x", "decision": "approve"})
    assert answer.status_code in (403, 410)

    request = get_services().store.load_request(the_request_id())
    assert request is not None and request.status == RequestStatus.EXPIRED
    assert audit_actions() == [
        "submitted", "confirmed", "reminded", "reminded", "escalated", "expired",
    ]  # fmt: skip
    # Nothing is due any more: later runs do nothing.
    assert acted(run_jobs(client, clock, local(2027, 3, 1))) == {}


def test_a_grant_gets_a_renewal_notice_then_ends_and_provisioning_is_told(
    client: Client, clock: FrozenClock
) -> None:
    manager_link = pending_request(client)
    assert press(client, manager_link, decision="approve").status_code == 200
    officer_mail = next(m for m in outbox() if m.to == [OFFICER])
    assert press(client, link_with(officer_mail, "decide"), decision="approve").status_code == 200
    granted = [e for e in published_events(BUS) if e["detail_type"] == "AccessGranted"]
    assert len(granted) == 1
    detail = granted[0]["detail"]
    assert detail["requester"] == REQUESTER
    assert detail["platforms"] == ["linkedin", "x"]
    assert detail["level"] == "read"
    end = MONDAY + timedelta(days=90)
    assert datetime.fromisoformat(detail["end"]) == end
    assert datetime.fromisoformat(detail["start"]) == MONDAY

    # Seven days before the end: the requester gets a renewal link.
    assert acted(run_jobs(client, clock, end - timedelta(days=7, minutes=1))) == {}
    before = len(outbox())
    assert acted(run_jobs(client, clock, end - timedelta(days=7))) == {"ending_notice": 1}
    (notice,) = outbox()[: len(outbox()) - before]
    assert notice.to == [REQUESTER]
    assert "se termine le" in notice.subject
    renew = next(link for link in notice.links if "/renew/" in link)
    assert acted(run_jobs(client, clock, end - timedelta(days=3))) == {}  # told once

    # At the end date the grant ends: the requester is told, provisioning gets AccessEnded.
    before = len(outbox())
    assert acted(run_jobs(client, clock, end)) == {"end": 1}
    (ended,) = outbox()[: len(outbox()) - before]
    assert "est terminé" in ended.subject
    types = [e["detail_type"] for e in published_events(BUS)]
    assert types == ["AccessGranted", "AccessEnded"]
    request = get_services().store.load_request(the_request_id())
    assert request is not None and request.status == RequestStatus.ENDED
    assert audit_actions()[-2:] == ["ending_notice", "ended"]

    # The renewal link opens the form filled in from the old request.
    from urllib.parse import urlsplit

    form = html(client.http.get(urlsplit(renew).path + "?" + urlsplit(renew).query))
    assert "renouvelle la demande" in form
    assert 'value="marie.tremblay@mcn.gouv.qc.ca"' in form


def test_each_job_run_twice_at_the_same_instant_sends_nothing_twice(
    client: Client, clock: FrozenClock
) -> None:
    pending_request(client)
    before = len(outbox())
    due = local(2026, 12, 23)
    first = run_jobs(client, clock, due)
    second = run_jobs(client, clock, due)
    assert acted(first) == {"remind": 1}
    assert acted(second) == {}
    assert len(outbox()) == before + 1
    # Two runs that read the same due request at once: one transaction wins, the other skips.
    services = get_services()
    from chalicelib.service.timed import run_timed_jobs

    store = services.store
    real = store.due_requests
    seen = real(local(2027, 1, 5), 100)

    def stale(now: datetime, limit: int, start: Any = None) -> Any:
        return seen  # both runs read before either writes

    clock.now = local(2027, 1, 5)
    store.due_requests = stale  # type: ignore[method-assign]
    try:
        runs = [run_timed_jobs(services), run_timed_jobs(services)]
    finally:
        store.due_requests = real  # type: ignore[method-assign]
    assert sorted(r["remind"] for r in runs) == [0, 1]
    assert sorted(r["skipped"] for r in runs) == [0, 1]
    assert len(outbox()) == before + 2


def test_a_renewal_is_a_new_request_that_references_the_old_one(
    client: Client, clock: FrozenClock
) -> None:
    test_a_grant_gets_a_renewal_notice_then_ends_and_provisioning_is_told(client, clock)
    old_id = the_request_id()
    ended = next(m for m in outbox() if "est terminé" in m.subject)
    renew = link_with(ended, "renew")
    page = html(client.http.get(renew + "?lang=fr"))
    form = {
        "name": "Marie Tremblay",
        "email": REQUESTER,
        "organization": "Ministère de la Cybersécurité et du Numérique",
        "manager_email": MANAGER,
        "platforms": ["linkedin", "x"],
        "purpose": "monitoring",
        "level": "read",
        "justification": "Je fais toujours la veille du programme Accès numérique et je réponds "
        "aux citoyens.",
        "duration_days": "90",
        "accept_policy": "yes",
        "lang": "fr",
        "form_token": hidden_value(page, "form_token"),
        "renew": hidden_value(page, "renew"),
        "renew_reference": hidden_value(page, "renew_reference"),
    }
    answer = post_form(client, "/", form)
    assert answer.status_code == 200, html(answer)
    requests = get_services().store.console.requests_of(REQUESTER)
    (renewal,) = [r for r in requests if r.id != old_id]
    assert renewal.renews == old_id
    assert renewal.status == RequestStatus.PENDING_CONFIRMATION
    submitted = [e for e in get_services().store.events_for(renewal.id) if e.action == "submitted"]
    assert submitted[0].reason is not None and "renews" in submitted[0].reason
    # Its status page says which request it renews, and how to withdraw it while pending.
    status = html(client.http.get(link_with(outbox()[0], "status")))
    assert f"renouvelle la demande {old_id[:8].upper()}" in status
    assert 'href="/login?next=/me&lang=fr"' in status
    # A forged renewal token is refused, and nothing is stored.
    page = html(client.http.get("/?lang=fr"))
    forged = {**form, "form_token": hidden_value(page, "form_token"), "renew": "x" * 43}
    assert post_form(client, "/", forged).status_code == 404
    assert len(get_services().store.console.requests_of(REQUESTER)) == 2


def hidden_value(page: str, name: str) -> str:
    """Read a hidden field of a page."""
    from tests.integration.conftest import hidden

    return hidden(page, name)
