"""A new usage-policy version: grant holders are asked to acknowledge it; one who does keeps
the grant, one who does not loses it at the deadline (`AccessEnded`) (issue 17, item 4)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from chalicelib.dev.events import published_events
from chalicelib.domain.models import RequestStatus
from chalicelib.service.campaign import campaign_progress
from chalicelib.service.context import Services, get_services
from tests.integration.conftest import (
    BUS,
    file_request,
    hidden,
    html,
    link_with,
    outbox,
    path_of,
    post_form,
    press,
)
from tests.integration.people import MANAGER, OFFICER, get, sign_in

pytestmark = pytest.mark.integration
QUEBEC = ZoneInfo("America/Toronto")
MONDAY = datetime(2027, 2, 1, 10, 0, tzinfo=QUEBEC)  # no holiday in the next three weeks
KEEPER, LOSER = "agent.lit@mcn.gouv.qc.ca", "agent.silence@mcn.gouv.qc.ca"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(client: Client) -> Iterator[Clock]:
    services = get_services()
    real, frozen = services.clock, Clock(MONDAY)
    services.clock = frozen
    yield frozen
    services.clock = real


def run_jobs(client: Client, clock: Clock, at: datetime) -> dict[str, int]:
    """Run the lifecycle function as Lambda would (it runs the campaign)."""
    clock.now = at
    event = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
    report: dict[str, Any] = client.lambda_.invoke("run_lifecycle", event).payload
    return {key: count for key, count in report.items() if count}


def granted(client: Client, email: str) -> str:
    """File, confirm and approve a request of `email` (read, standard risk); return its id."""
    assert file_request(client, email=email, platforms=["x"]).status_code == 200
    confirm = next(m for m in outbox() if m.to == [email])
    assert press(client, link_with(confirm, "confirm")).status_code == 200
    manager = next(m for m in outbox() if m.to == [MANAGER])
    assert press(client, link_with(manager, "decide"), decision="approve").status_code == 200
    officer = next(m for m in outbox() if m.to == [OFFICER] and "/decide/" in " ".join(m.links))
    assert press(client, link_with(officer, "decide"), decision="approve").status_code == 200
    (request,) = get_services().store.console.requests_of(email)
    assert request.status == RequestStatus.APPROVED
    return request.id


def new_usage_policy_version(version: str) -> Services:
    """Put a new usage-policy version in force (as a reviewed policy change would)."""
    services = get_services()
    usage = services.policy.organisation.usage_policy.model_copy(update={"version": version})
    organisation = services.policy.organisation.model_copy(update={"usage_policy": usage})
    services.policy = services.policy.model_copy(update={"organisation": organisation})
    return services


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2027, 2, day, hour, 0, tzinfo=QUEBEC)


def test_a_holder_who_does_not_acknowledge_loses_the_grant_one_who_does_keeps_it(
    client: Client, clock: Clock
) -> None:
    keeper, loser = granted(client, KEEPER), granted(client, LOSER)
    # Nothing to ask while the version is the one both accepted on the form.
    assert run_jobs(client, clock, at(1, 11)) == {}

    services = new_usage_policy_version("2027-02-01")

    before = len(outbox())
    assert run_jobs(client, clock, at(1, 12)) == {"campaign_ask": 2}
    asked = outbox()[: len(outbox()) - before]
    assert sorted(m.to[0] for m in asked) == sorted([KEEPER, LOSER])
    assert all("2027-02-01" in m.subject for m in asked)
    assert all("15 février 2027" in m.text for m in asked)  # ten working days later
    assert run_jobs(client, clock, at(1, 13)) == {}  # asked once

    progress = campaign_progress(services)
    assert (progress["waiting"], progress["acknowledged"], progress["accepted"]) == (2, 0, 0)
    # The keeper follows the e-mail's link and acknowledges on the page.
    mail = next(m for m in asked if m.to == [KEEPER])
    page_path = next(path_of(link) for link in mail.links if path_of(link) == "/usage-policy")
    assert 'id="sign-in-first"' in html(client.http.get(page_path))  # signed out: no form
    holder = sign_in(client, KEEPER, next_path=page_path)
    page = html(client.http.get(page_path, headers={"Cookie": holder}))
    assert "2027-02-01" in page
    done = post_form(client, page_path, {"form_token": hidden(page, "form_token")}, Cookie=holder)
    assert done.status_code == 200 and 'id="acknowledged"' in html(done)
    assert campaign_progress(services)["acknowledged"] == 1
    assert campaign_progress(services)["waiting"] == 1
    # Three working days later (Thursday at noon) only the silent holder is reminded.
    assert run_jobs(client, clock, at(4, 11)) == {}
    assert run_jobs(client, clock, at(4, 12)) == {"campaign_remind": 1}
    assert outbox()[0].to == [LOSER] and outbox()[0].subject.strip().startswith("Rappel")

    # The deadline is Monday 15 February at noon (10 working days after the start). A run
    # that missed the reminders of the 9th and the 12th sends one, not two.
    assert run_jobs(client, clock, at(15, 11)) == {"campaign_remind": 1}
    assert run_jobs(client, clock, at(15, 11)) == {}
    report = run_jobs(client, clock, at(15, 12))
    assert report == {"campaign_end": 1}
    store = services.store
    ended, kept = store.load_request(loser), store.load_request(keeper)
    assert ended is not None and ended.status == RequestStatus.ENDED
    assert kept is not None and kept.status == RequestStatus.APPROVED
    assert campaign_progress(services) == {
        "accepted": 0, "acknowledged": 1, "waiting": 0, "flagged": 0, "not_asked": 0,
    }  # fmt: skip
    # The officers' console shows the same progress; a grant holder may not see it.
    page = html(get(client, "/console/campaign", sign_in(client, OFFICER)))
    assert "2027-02-01" in page and '<dd data-count="acknowledged">1</dd>' in page
    assert get(client, "/console/campaign", sign_in(client, KEEPER)).status_code == 403
    events = [(e["detail_type"], e["detail"]["request_id"]) for e in published_events(BUS)]
    assert ("AccessEnded", loser) in events and ("AccessEnded", keeper) not in events
    (last,) = [e for e in store.events_for(loser) if e.action == "ended"]
    assert last.reason == "usage policy 2027-02-01 not acknowledged"
    # The campaign is over: later runs do nothing more.
    assert run_jobs(client, clock, at(16)) == {}
    assert run_jobs(client, clock, at(17)) == {}


def test_with_flag_a_silent_holder_keeps_the_grant_and_the_officers_are_told(
    client: Client, clock: Clock
) -> None:
    silent = granted(client, LOSER)
    services = new_usage_policy_version("2027-02-01")
    trust = services.policy.rules.trust.model_copy(update={"on_no_acknowledgement": "flag"})
    rules = services.policy.rules.model_copy(update={"trust": trust})
    services.policy = services.policy.model_copy(update={"rules": rules})
    assert run_jobs(client, clock, at(1, 12)) == {"campaign_ask": 1}
    officers = sorted(services.policy.officer_emails())
    before = len(outbox())
    assert run_jobs(client, clock, at(15, 12)) == {"campaign_flag": 1}
    assert run_jobs(client, clock, at(16, 12)) == {}  # flagged once
    flagged = outbox()[: len(outbox()) - before]
    notices = [m for m in flagged if set(m.to) & set(officers)]
    assert sorted(address for m in notices for address in m.to) == officers
    (request,) = services.store.console.requests_of(LOSER)
    assert request.status == RequestStatus.APPROVED  # kept open: the officers decide
    notice = notices[0]
    assert "2027-02-01" in notice.subject and request.reference in notice.text
    assert f"/console/requests/{silent}" in " ".join(notice.links)
    # The campaign page lists it, with a link to the grant the officer may revoke.
    page = html(get(client, "/console/campaign", sign_in(client, OFFICER)))
    assert '<dd data-count="flagged">1</dd>' in page
    assert f'href="/console/requests/{silent}"' in page and request.reference in page
    events = [(e["detail_type"], e["detail"]["request_id"]) for e in published_events(BUS)]
    assert ("AccessEnded", silent) not in events


def move_clock(client: Client, hours: int) -> str:
    """Move the stack's clock at /dev/clock as a developer does; return the page it answers."""
    page = html(client.http.get("/dev/clock"))
    moved = post_form(
        client, "/dev/clock", {"form_token": hidden(page, "form_token"), "hours": str(hours)}
    )
    assert moved.status_code == 200, html(moved)
    return html(moved)


def test_a_campaign_watched_through_dev_clock_ends_the_silent_holders_grant(
    client: Client, dev_clock_anchor: None
) -> None:
    # The local stack's way (README, "Watch time pass"): no frozen clock, /dev/clock moves it
    # and runs the scheduled jobs, the campaign among them.
    silent = granted(client, LOSER)
    services = new_usage_policy_version("2027-02-01")
    before = len(outbox())
    assert "campaign_ask" in move_clock(client, 1)
    (asked,) = [m for m in outbox()[: len(outbox()) - before] if m.to == [LOSER]]
    assert "2027-02-01" in asked.subject
    # Thirty days hold ten working days whatever the holidays: past the deadline.
    assert "campaign_end" in move_clock(client, 30 * 24)
    (request,) = services.store.console.requests_of(LOSER)
    assert request.status == RequestStatus.ENDED
    events = [(e["detail_type"], e["detail"]["request_id"]) for e in published_events(BUS)]
    assert ("AccessEnded", silent) in events
