"""The recertification of long grants (issue 17, item 4): before each review period is over
the manager is asked "is this access still needed?"; Keep keeps the grant (and the next
period asks again), End ends it now, and no answer by the deadline ends it (`AccessEnded`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from chalicelib.dev.events import published_events
from chalicelib.domain.models import AccessRequest, RequestStatus
from chalicelib.service.context import get_services
from tests.integration.conftest import (
    BUS,
    file_request,
    hidden,
    html,
    link_with,
    outbox,
    post_form,
    press,
)
from tests.integration.people import MANAGER, OFFICER, get, post, sign_in

pytestmark = pytest.mark.integration
QUEBEC = ZoneInfo("America/Toronto")
# Monday 1 February 2027: no holiday until 26 March (policies/holidays.toml).
MONDAY = datetime(2027, 2, 1, 10, 0, tzinfo=QUEBEC)
KEEPER, SILENT = "agent.garde@mcn.gouv.qc.ca", "agent.silence@mcn.gouv.qc.ca"
COMMUNICATIONS = "communications.demo@mcn.gouv.qc.ca"
PUBLISH = (
    "Je publie au nom du ministère les annonces du programme Accès numérique "
    "et je réponds aux citoyens."
)


class Clock:
    """The services' clock, set by hand; it reads UTC like the server's clock (so a period
    of 30 days is 30 times 24 hours, across the change to summer time too)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now.astimezone(UTC)


@pytest.fixture
def clock(client: Client) -> Iterator[Clock]:
    services = get_services()
    real, frozen = services.clock, Clock(MONDAY)
    services.clock = frozen
    yield frozen
    services.clock = real


def run_jobs(client: Client, clock: Clock, at: datetime) -> dict[str, int]:
    """Run the lifecycle function as Lambda would, at `at`; keep the non-zero counts."""
    clock.now = at
    event = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
    report: dict[str, Any] = client.lambda_.invoke("run_lifecycle", event).payload
    return {key: count for key, count in report.items() if count}


def decide_link(to: str) -> str:
    mail = next(m for m in outbox() if to in m.to and "/decide/" in " ".join(m.links))
    return link_with(mail, "decide")


def granted(client: Client, email: str, name: str) -> AccessRequest:
    """File a 90-day publish request of `email` and walk it through its chain."""
    filed = file_request(
        client, email=email, name=name, level="publish", justification=PUBLISH, duration_days="90"
    )
    assert filed.status_code == 200, html(filed)
    assert press(client, link_with(outbox()[0], "confirm")).status_code == 200
    for approver in (MANAGER, COMMUNICATIONS, OFFICER):
        assert press(client, decide_link(approver), decision="approve").status_code == 200
    (request,) = get_services().store.console.requests_of(email)
    assert request.status == RequestStatus.APPROVED and request.review_every_days == 30
    return request


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=QUEBEC)


def review_mail_about(name: str) -> Any:
    return next(m for m in outbox() if m.to == [MANAGER] and name in m.subject)


def load(request_id: str) -> AccessRequest:
    found = get_services().store.load_request(request_id)
    assert found is not None
    return found


def ended_events() -> list[str]:
    return [
        e["detail"]["request_id"]
        for e in published_events(BUS)
        if e["detail_type"] == "AccessEnded"
    ]


def test_keep_keeps_the_grant_and_the_next_period_asks_again_end_ends_it(
    client: Client, clock: Clock
) -> None:
    grant = granted(client, KEEPER, "Agnès Garde")
    # A 30-day period from the grant: the manager is asked 7 days before it is over.
    assert run_jobs(client, clock, at(2, 24, 9, 59)) == {}
    assert run_jobs(client, clock, at(2, 24, 10, 1)) == {"review_ask": 1}
    assert run_jobs(client, clock, at(2, 24, 10, 2)) == {}  # asked once
    mail = review_mail_about("Agnès Garde")
    assert "toujours nécessaire" in mail.subject and "still needed" in mail.subject
    assert "3 mars 2027" in mail.text  # five working days to answer
    path = link_with(mail, "review")
    # Opening the link changes nothing (a mail scanner fetches it too).
    page = client.http.get(path)
    assert page.status_code == 200 and 'value="keep"' in html(page) and 'value="end"' in html(page)
    assert client.http.head(path).status_code == 200
    assert load(grant.id).review_kept_at is None
    # A POST without the page's CSRF token is refused and changes nothing.
    assert post_form(client, path, {"answer": "keep"}).status_code == 403
    assert load(grant.id).review_kept_at is None

    kept = press(client, path, answer="keep")
    assert kept.status_code == 200 and 'id="kept"' in html(kept)
    after = load(grant.id)
    assert after.status == RequestStatus.APPROVED and after.review_kept_at == at(2, 24, 10, 2)
    (event,) = [e for e in get_services().store.events_for(grant.id) if e.action == "review_kept"]
    assert event.actor == MANAGER and event.via == "link"
    # The officers see the review on the request's console page.
    console = html(get(client, f"/console/requests/{grant.id}", sign_in(client, OFFICER)))
    assert "Le gestionnaire confirme cet accès tous les 30 jours." in console
    assert "Dernier maintien : 24 février 2027" in console
    # The link worked once: pressing again (or opening it) changes nothing.
    assert client.http.get(path).status_code == 409
    page_again = post_form(client, path, {"csrf": hidden(html(page), "csrf"), "answer": "end"})
    assert page_again.status_code == 409 and load(grant.id).status == RequestStatus.APPROVED
    # Kept: the old deadline passes without effect; the new period asks again 23 days later
    # (23 times 24 hours: 11:02 in Québec once summer time started on 14 March).
    assert run_jobs(client, clock, at(3, 3, 10, 5)) == {}
    assert run_jobs(client, clock, at(3, 19, 11, 1)) == {}
    before = len(outbox())
    assert run_jobs(client, clock, at(3, 19, 11, 3)) == {"review_ask": 1}
    assert len(outbox()) == before + 1
    second = link_with(review_mail_about("Agnès Garde"), "review")
    assert second != path

    # This time the manager ends it: the grant ends now, with AccessEnded on the bus.
    ended = press(client, second, answer="end")
    assert ended.status_code == 200 and 'id="ended"' in html(ended)
    closed = load(grant.id)
    assert closed.status == RequestStatus.ENDED and closed.ended_at == at(3, 19, 11, 3)
    assert grant.id in ended_events()
    (last,) = [e for e in get_services().store.events_for(grant.id) if e.action == "ended"]
    assert (last.actor, last.via, last.reason) == (
        MANAGER,
        "link",
        "ended by the manager at the review",
    )
    assert outbox()[0].to == [KEEPER]  # the requester is told, with a renewal link
    assert "/renew/" in " ".join(outbox()[0].links)
    # Their status page says who kept it and who ended it, not "at the planned date".
    timeline = html(client.http.get(link_with(outbox()[0], "status")))
    assert f"Accès maintenu à la revue par {MANAGER}" in timeline
    assert f"Accès terminé à la revue par {MANAGER}" in timeline
    assert "Accès terminé à la date prévue" not in timeline


def test_no_answer_by_the_deadline_ends_the_grant(client: Client, clock: Clock) -> None:
    grant = granted(client, SILENT, "Paul Silence")
    assert run_jobs(client, clock, at(2, 24, 10, 1)) == {"review_ask": 1}
    path = link_with(review_mail_about("Paul Silence"), "review")
    # Pressing neither button: the page again, saying what to choose; nothing changes.
    page = html(client.http.get(path))
    unanswered = post_form(client, path, {"csrf": hidden(page, "csrf")})
    assert unanswered.status_code == 400 and "error-summary" in html(unanswered)
    assert load(grant.id).review_kept_at is None
    # Asked on Wednesday 24 February: five working days later is Wednesday 3 March.
    assert run_jobs(client, clock, at(3, 3, 10, 0)) == {}
    assert load(grant.id).status == RequestStatus.APPROVED
    fresh = html(client.http.get(path))  # the page as opened just before the deadline
    # Past the deadline, before the job ran: the link has expired and changes nothing.
    clock.now = at(3, 3, 10, 2)
    assert client.http.get(path).status_code == 410
    assert (
        post_form(client, path, {"csrf": hidden(fresh, "csrf"), "answer": "keep"}).status_code
        == 410
    )
    assert load(grant.id).review_kept_at is None
    assert run_jobs(client, clock, at(3, 3, 10, 2)) == {"review_lapse": 1}
    closed = load(grant.id)
    assert closed.status == RequestStatus.ENDED
    assert grant.id in ended_events()
    (last,) = [e for e in get_services().store.events_for(grant.id) if e.action == "ended"]
    assert (last.actor, last.via, last.reason) == ("sesame", "schedule", "no answer to the review")
    assert run_jobs(client, clock, at(3, 4)) == {}
    status = next(m for m in outbox() if m.to == [SILENT] and "/status/" in " ".join(m.links))
    timeline = html(client.http.get(link_with(status, "status")))
    assert "Accès terminé : aucune réponse à la revue de l'accès dans le délai" in timeline
    assert "Accès terminé à la date prévue" not in timeline
    # The ended grant's review link is no longer current: nothing to press.
    stale = client.http.get(path)
    assert stale.status_code == 409 and 'value="keep"' not in html(stale)


def test_a_review_link_works_only_for_its_own_request(client: Client, clock: Clock) -> None:
    first = granted(client, KEEPER, "Agnès Garde")
    second = granted(client, SILENT, "Paul Silence")
    assert run_jobs(client, clock, at(2, 24, 10, 1)) == {"review_ask": 2}
    path = link_with(review_mail_about("Agnès Garde"), "review")
    token = path.removeprefix("/review/")
    assert token.startswith(first.id + ".")
    # The same secret under the other request's id, or an approval link used as a review
    # link: unknown links, and nothing changes.
    swapped = f"/review/{second.id}.{token.split('.', 1)[1]}"
    assert client.http.get(swapped).status_code == 404
    decide = next(m for m in outbox() if "/decide/" in " ".join(m.links))
    assert (
        client.http.get(
            "/review/" + link_with(decide, "decide").removeprefix("/decide/")
        ).status_code
        == 404
    )
    page = html(client.http.get(path))
    assert post_form(
        client, swapped, {"csrf": hidden(page, "csrf"), "answer": "end"}
    ).status_code in (403, 404)
    assert load(first.id).status == load(second.id).status == RequestStatus.APPROVED
    assert load(first.id).review_kept_at is None and load(second.id).review_kept_at is None
    # An officer revokes the first grant: its review link is no longer current.
    cookie = sign_in(client, OFFICER)
    detail = get(client, f"/console/requests/{first.id}", cookie)
    revoked = post(
        client, f"/console/requests/{first.id}/revoke", cookie, {"reason": "Fin du projet."}, detail
    )
    assert revoked.status_code == 303 and load(first.id).status == RequestStatus.REVOKED
    gone = client.http.get(path)
    assert gone.status_code == 409 and 'value="keep"' not in html(gone)
    refused = post_form(client, path, {"csrf": hidden(page, "csrf"), "answer": "keep"})
    assert refused.status_code == 409 and load(first.id).review_kept_at is None


def test_a_group_steps_pages_name_the_group(client: Client, clock: Clock) -> None:
    # The console's request page and the group member's step page named a group's step with
    # the catalogue's role labels only (manager, security), and answered 500 for the others.
    assert file_request(client, level="publish", justification=PUBLISH).status_code == 200
    assert press(client, link_with(outbox()[0], "confirm")).status_code == 200
    assert press(client, decide_link(MANAGER), decision="approve").status_code == 200
    (request,) = get_services().store.console.requests_of("marie.tremblay@mcn.gouv.qc.ca")
    step = get(client, f"/me/steps/{request.id}", sign_in(client, COMMUNICATIONS))
    assert step.status_code == 200 and "Direction des communications" in html(step)
    console = get(client, f"/console/requests/{request.id}", sign_in(client, OFFICER))
    assert console.status_code == 200 and "Direction des communications" in html(console)


def test_a_manager_away_has_the_deputy_asked_too_and_the_deputys_keep_counts(
    client: Client, clock: Clock
) -> None:
    deputy = "suppleante.demo@mcn.gouv.qc.ca"
    filed = file_request(
        client, email=KEEPER, name="Agnès Garde", level="publish", justification=PUBLISH,
        duration_days="90",
    )  # fmt: skip
    assert filed.status_code == 200, html(filed)
    assert press(client, link_with(outbox()[0], "confirm")).status_code == 200
    # The manager, from the approval e-mail, names a deputy for the weeks of the review.
    delegate_path = decide_link(MANAGER).replace("/decide/", "/delegate/")
    page = html(client.http.get(delegate_path))
    form = {"csrf": hidden(page, "csrf"), "deputy": deputy}
    named = post_form(client, delegate_path, {**form, "starts": "2027-02-20", "ends": "2027-03-05"})
    assert named.status_code == 200, html(named)
    for approver in (MANAGER, COMMUNICATIONS, OFFICER):
        assert press(client, decide_link(approver), decision="approve").status_code == 200
    (grant,) = get_services().store.console.requests_of(KEEPER)

    assert run_jobs(client, clock, at(2, 24, 10, 1)) == {"review_ask": 1}
    to_manager = review_mail_about("Agnès Garde")
    (to_deputy,) = [m for m in outbox() if m.to == [deputy] and "Agnès Garde" in m.subject]
    assert MANAGER in to_deputy.text and "suppléant" in to_deputy.text
    assert link_with(to_deputy, "review") != link_with(to_manager, "review")
    kept = press(client, link_with(to_deputy, "review"), answer="keep")
    assert kept.status_code == 200 and 'id="kept"' in html(kept)
    assert load(grant.id).review_kept_at == at(2, 24, 10, 1)
    (event,) = [e for e in get_services().store.events_for(grant.id) if e.action == "review_kept"]
    assert event.actor == deputy and f"on behalf of {MANAGER}" in (event.reason or "")
    # The first answer counts: the manager's own link is no longer current.
    assert client.http.get(link_with(to_manager, "review")).status_code == 409
