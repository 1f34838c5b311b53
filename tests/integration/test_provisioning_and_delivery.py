"""Provisioning hears of every grant, revocation and end on the bus; failed deliveries show in
the console and can be retried with the same link; the local clock moves at /dev/clock."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from chalice.test import Client

from chalicelib import aws
from chalicelib.dev.events import published_events
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
from tests.integration.people import (
    OFFICER,
    get,
    post,
    request_at_security_step,
    sign_in,
)

pytestmark = pytest.mark.integration


def test_approval_and_revocation_each_put_one_event_of_the_documented_shape_on_the_bus(
    client: Client,
) -> None:
    request_id = request_at_security_step(client)
    assert published_events(BUS) == []
    officer_mail = next(m for m in outbox() if m.to == [OFFICER])
    assert press(client, link_with(officer_mail, "decide"), decision="approve").status_code == 200
    (granted,) = published_events(BUS)
    assert granted["detail_type"] == "AccessGranted"
    assert set(granted["detail"]) == {
        "request_id", "reference", "requester", "platforms", "level", "start", "end",
    }  # fmt: skip
    assert granted["detail"]["request_id"] == request_id
    assert granted["detail"]["reference"] == request_id[:8].upper()
    assert granted["time"]

    cookie = sign_in(client, OFFICER)
    detail = get(client, f"/console/requests/{request_id}", cookie)
    revoked = post(
        client,
        f"/console/requests/{request_id}/revoke",
        cookie,
        {"reason": "Fin du mandat."},
        detail,
    )
    assert revoked.status_code == 303
    events = published_events(BUS)
    assert [e["detail_type"] for e in events] == ["AccessGranted", "AccessRevoked"]
    start = datetime.fromisoformat(events[1]["detail"]["start"])
    end = datetime.fromisoformat(events[1]["detail"]["end"])
    assert start <= end < datetime.fromisoformat(granted["detail"]["end"])
    # The JSON listing of the local stage says the same.
    listed = json.loads(client.http.get("/dev/events.json").body)
    assert [e["detail_type"] for e in listed] == ["AccessGranted", "AccessRevoked"]
    assert "AccessRevoked" in html(client.http.get("/dev/events"))


def test_an_event_the_bus_refuses_is_kept_and_delivered_by_the_sweep(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = aws.events().put_events
    left = {"n": 2}

    def throttled(**kwargs: Any) -> Any:
        if left["n"]:
            left["n"] -= 1
            raise ClientError({"Error": {"Code": "ThrottlingException"}}, "PutEvents")
        return real(**kwargs)

    monkeypatch.setattr(aws.events(), "put_events", throttled)
    request_at_security_step(client)
    officer_mail = next(m for m in outbox() if m.to == [OFFICER])
    assert press(client, link_with(officer_mail, "decide"), decision="approve").status_code == 200
    assert published_events(BUS) == []  # the first try was throttled; the decision stands
    services = get_services()
    later = services.clock() + timedelta(hours=7)
    services.clock = lambda: later
    from chalicelib.service.sweep import deliver_due

    assert deliver_due(services)["retry"] == 1  # still throttled at the first sweep
    assert published_events(BUS) == []
    even_later = later + timedelta(hours=7)
    services.clock = lambda: even_later
    assert deliver_due(services)["sent"] == 1
    assert [e["detail_type"] for e in published_events(BUS)] == ["AccessGranted"]
    assert deliver_due(services)["sent"] == 0  # never twice


def test_a_rejected_e_mail_shows_in_the_console_and_a_retry_sends_the_same_link(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = aws.ses().send_raw_email

    def rejected(**kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "MessageRejected"}}, "SendRawEmail")

    monkeypatch.setattr(aws.ses(), "send_raw_email", rejected)
    assert file_request(client, email="absent@mcn.gouv.qc.ca").status_code == 200
    monkeypatch.setattr(aws.ses(), "send_raw_email", real)
    assert outbox() == []

    cookie = sign_in(client, OFFICER)
    page = get(client, "/console/failures", cookie)
    text = html(page)
    assert page.status_code == 200
    assert "MessageRejected" in text and "absent@mcn.gouv.qc.ca" in text
    assert "confirm_request" in text
    (action,) = re.findall(r'action="(/console/failures/email/[0-9a-f]+/retry)"', text)
    retried = post_form(client, action, {"csrf": hidden(text, "csrf")}, Cookie=cookie)
    assert retried.status_code == 303
    after = html(get(client, "/console/failures", cookie))
    assert "absent@mcn.gouv.qc.ca" not in after.split("<main", 1)[1].split("</table>")[0]
    (delivered,) = [m for m in outbox() if m.to == ["absent@mcn.gouv.qc.ca"]]
    # The link written with the request is the one delivered: it works.
    assert press(client, link_with(delivered, "confirm")).status_code == 200
    # A second retry of the same entry changes nothing.
    again = post_form(client, action, {"csrf": hidden(text, "csrf")}, Cookie=cookie)
    assert again.status_code == 409
    assert len([m for m in outbox() if m.to == ["absent@mcn.gouv.qc.ca"]]) == 1
    retries = [
        e
        for e in get_services().store.events_for(delivered_request_id(delivered))
        if e.action == "delivery_retried"
    ]
    assert [(e.actor, e.via) for e in retries] == [(OFFICER, "console")]


def delivered_request_id(mail: Any) -> str:
    """The request a requester's e-mail is about (from the only request of that address)."""
    (request,) = get_services().store.console.requests_of(mail.to[0])
    return request.id


def test_the_dev_clock_moves_time_and_runs_the_jobs_in_the_local_stage_only(
    client: Client, dev_clock_anchor: None
) -> None:
    # The clock also writes the hourly audit digests: the test stage gets the local stack's
    # digest key and write-once bucket (dev_clock_anchor).
    assert file_request(client).status_code == 200
    assert press(client, link_with(outbox()[0], "confirm")).status_code == 200
    page = html(client.http.get("/dev/clock"))
    assert "Horloge de développement" in page
    bad = post_form(client, "/dev/clock", {"form_token": hidden(page, "form_token"), "hours": "x"})
    assert bad.status_code == 400
    forged = post_form(client, "/dev/clock", {"form_token": "nope", "hours": "24"})
    assert forged.status_code == 403
    before = len(outbox())
    # Four days (with a weekend at most) passes the first reminder's two working days.
    moved = post_form(
        client, "/dev/clock", {"form_token": hidden(page, "form_token"), "hours": "100"}
    )
    assert moved.status_code == 200, html(moved)
    assert "remind" in html(moved)
    assert [m.subject[:7] for m in outbox()[: len(outbox()) - before]] == ["Rappel "]
    assert get_services().clock() > datetime.now(get_services().clock().tzinfo) + timedelta(
        hours=99
    )


@pytest.mark.parametrize("path", ["/dev/clock", "/dev/events", "/dev/events.json"])
def test_the_dev_pages_answer_404_outside_the_local_stages(
    client: Client, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    from chalicelib.settings import get_settings

    prod = get_settings().model_copy(update={"stage": "prod"})
    monkeypatch.setattr("chalicelib.web.routes.dev.get_settings", lambda: prod)
    assert client.http.get(path).status_code == 404
    assert post_form(client, "/dev/clock", {"hours": "1"}).status_code == 404
