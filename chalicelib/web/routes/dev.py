"""Development pages of the local and test stages: the outbox, the movable clock, the bus.

`app.py` registers this blueprint only when `SESAME_DEV_ROUTES=1` is set in the process (the
local stack and the test suite set it; a Lambda never has it), so a deployed API has no
`/dev/*` route at all. Each view checks the stage as well: a test process that serves a
deployed stage's settings still answers 404.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice.app import Response

from ...dev import clock as dev_clock
from ...domain.errors import NotFound
from ...service.context import get_services
from ...settings import get_settings
from ..context import page_lang
from ..pages import render_page
from .common import SignedForm, blueprint, csrf_refused, first, json_response, read_form

if TYPE_CHECKING:
    from ...dev.outbox import SentEmail

# The readers and the jobs are imported by the views that use them, on first call: the
# outbox, the bus and the scheduled jobs are not what a process serving the form needs.

ENABLING_VARIABLE = "SESAME_DEV_ROUTES"
bp, current, route = blueprint(__name__)
# The outbox page shows the newest e-mails only; the JSON lists them all.
DEV_OUTBOX_PAGE = 10
CLOCK_FORM = SignedForm("dev-clock", "dev-clock-form")
MAX_CLOCK_HOURS = 2000


def local_only(view: Callable[[], Response]) -> Callable[[], Response]:
    """Answer 404 outside the local and test stages, whatever the process registered."""

    @functools.wraps(view)
    def guarded() -> Response:
        if not get_settings().is_local:
            raise NotFound("development page")
        return view()

    return guarded


def _sent_to() -> tuple[str, list[SentEmail]]:
    """The `?to=` filter of the outbox pages, and the sent e-mails it keeps (newest first)."""
    from ...dev.outbox import sent_emails

    params = current().query_params
    recipient = (params.get("to") or "").strip().lower() if params else ""
    return recipient, [e for e in sent_emails() if not recipient or recipient in e.to]


@route("/dev/outbox")
@local_only
def dev_outbox() -> Response:
    """List the e-mails the local emulator sent, newest first (`?to=` filters)."""
    recipient, emails = _sent_to()
    return render_page(
        "dev_outbox.html",
        page_lang(current()),
        emails=emails[:DEV_OUTBOX_PAGE],
        total=len(emails),
        recipient=recipient,
    )


@route("/dev/outbox.json")
@local_only
def dev_outbox_json() -> Response:
    """Return every e-mail the local emulator sent, as JSON (`?to=` filters)."""
    _, emails = _sent_to()
    body = json.dumps([e.as_json() for e in emails], ensure_ascii=False)
    return json_response(body)


def _dev_clock_page(
    status: int = 200, ran: dict[str, int] | None = None, error: str = ""
) -> Response:
    return render_page(
        "dev_clock.html",
        page_lang(current()),
        status=status,
        now=get_services().clock(),
        offset_hours=round(dev_clock.offset().total_seconds() / 3600, 1),
        ran=ran,
        error=error,
        form_token=CLOCK_FORM.token(),
    )


@route("/dev/clock")
@local_only
def show_dev_clock() -> Response:
    """Show the local stack's time."""
    return _dev_clock_page()


@route("/dev/clock", "POST")
@local_only
def move_dev_clock() -> Response:
    """Move the local clock forward by `hours` and run the scheduled jobs once."""
    form = read_form(current())
    if CLOCK_FORM.key(form) is None:
        return csrf_refused(current())
    raw = first(form, "hours").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_CLOCK_HOURS:
        return _dev_clock_page(400, error="hours_invalid")
    from ...service.campaign import run_campaign
    from ...service.digest import run_digest_job
    from ...service.sweep import deliver_due
    from ...service.timed import run_timed_jobs

    dev_clock.advance(int(raw))
    services = get_services()
    # The hourly digest too: one per hour the clock moved (issue 18).
    ran = {
        **run_timed_jobs(services),
        **run_campaign(services),
        **deliver_due(services),
        **run_digest_job(services.clock()),
    }
    return _dev_clock_page(ran={k: v for k, v in ran.items() if v})


@route("/dev/events")
@local_only
def dev_events() -> Response:
    """List the access events the emulator received on the bus."""
    return render_page("dev_events.html", page_lang(current()), events=_bus_events())


@route("/dev/events.json")
@local_only
def dev_events_json() -> Response:
    """Return the access events the emulator received, as JSON."""
    return json_response(json.dumps(_bus_events(), ensure_ascii=False))


def _bus_events() -> list[dict[str, Any]]:
    """The access events the emulator's bus received, oldest first."""
    from ...dev.events import published_events

    return published_events(get_settings().event_bus)
