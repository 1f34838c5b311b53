"""The console's enforcement pages: failures (e-mails and access), reconcile now, API clients.

"Échecs" took the place of "Envois en échec": its old address, `/console/deliveries`, answers
a permanent redirect to `/console/failures` so that bookmarks keep working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from chalice.app import Response

from ...service.context import get_services
from ..context import client_info
from ..lazy import LazyModule, lazy_function
from ..session import Visitor, redirect, signed_in, site_path
from .common import blueprint, console_page, first, form_or_empty

if TYPE_CHECKING:
    from ...service import console, enforce_console
    from ...service.sweep import deliver_due
    from .. import console_pages as pages
else:
    # Imported on first use: serving the form needs none of these (cold start, issue 9).
    console = LazyModule("chalicelib.service.console")
    enforce_console = LazyModule("chalicelib.service.enforce_console")
    deliver_due = lazy_function("chalicelib.service.sweep", "deliver_due")
    pages = LazyModule("chalicelib.web.console_pages")

bp, current, route = blueprint(__name__)
officer = signed_in(current, form_or_empty, officers_only=True)
DONE = ("retried", "still_failing", "resent")


def _failures(visitor: Visitor, status: int = 200, **context: Any) -> Response:
    services = get_services()
    params = pages.query_params(current())
    start = pages.decode_cursor(services.settings.signing_secret, params.get("page"))
    found = enforce_console.failures_page(services, pages.PAGE_SIZE, start)
    done = params.get("done", "")
    context.setdefault("reconciled", None)
    return console_page(
        current(),
        visitor,
        "failures",
        status=status,
        found=found,
        done=done if done in DONE else "",
        next_page=pages.encode_cursor(services.settings.signing_secret, found.next_key),
        first_page=start is not None,
        **context,
    )


@route("/console/failures")
@officer
def console_failures(visitor: Visitor) -> Response:
    """Failed e-mails and lasting access failures, each with its reason and a retry."""
    return _failures(visitor)


@bp.route("/console/deliveries", methods=["GET"])
def console_deliveries_moved() -> Response:
    """The old "Envois en échec" address: 308 to "Échecs", its query (a page cursor) kept."""
    cursor = pages.query_params(current()).get("page")
    query = urlencode({"page": cursor}) if cursor else ""
    location = site_path(get_services(), "/console/failures") + (f"?{query}" if query else "")
    return Response(body="", status_code=308, headers={"Location": location})


@route("/console/failures/email/{outbox_id}/retry", "POST")
@officer
def console_retry_delivery(visitor: Visitor, outbox_id: str) -> Response:
    """Queue a failed delivery again (the same message and link); the next sweep sends it."""
    services = get_services()
    console.retry_delivery(services, outbox_id, visitor.email, client_info(current()))
    deliver_due(services)  # try at once rather than wait for the next scheduled sweep
    return redirect(site_path(services, "/console/failures?done=resent"))


@route("/console/failures/access/retry", "POST")
@officer
def console_retry_access(visitor: Visitor) -> Response:
    """Apply a failed access change again (the next failure is listed again, with its reason)."""
    form = form_or_empty(current())
    state = enforce_console.retry_access(
        first(form, "request_id")[:40], first(form, "group")[:300], first(form, "email")[:254]
    )
    done = "retried" if state.state == "applied" else "still_failing"
    return redirect(site_path(get_services(), f"/console/failures?done={done}"))


@route("/console/reconcile", "POST")
@officer
def console_reconcile(visitor: Visitor) -> Response:
    """Reconcile the groups Sésame owns now (audited with the officer), then show the result."""
    report = enforce_console.reconcile_now(get_services(), visitor.email, client_info(current()))
    return _failures(visitor, reconciled=report)


def _clients(visitor: Visitor, status: int = 200, **context: Any) -> Response:
    services = get_services()
    for name in ("done", "created", "secret", "bad_name", "name"):
        context.setdefault(name, None)
    return console_page(
        current(),
        visitor,
        "api_clients",
        status=status,
        clients=enforce_console.api_clients(services),
        **context,
    )


@route("/console/api-clients")
@officer
def console_api_clients(visitor: Visitor) -> Response:
    """The grants API's clients: who may read the grants, since when; create or revoke."""
    done = pages.query_params(current()).get("done", "")
    return _clients(visitor, done=done if done == "revoked" else "")


@route("/console/api-clients", "POST")
@officer
def console_create_api_client(visitor: Visitor) -> Response:
    """Create a client and show its secret once (never stored, never shown again)."""
    from pydantic import ValidationError  # here: serving the form imports no pydantic

    name = first(form_or_empty(current()), "name").strip()
    try:
        made, secret = enforce_console.create_api_client(get_services(), name, visitor.email)
    except ValidationError:
        return _clients(visitor, status=400, bad_name=True, name=name[:60])
    return _clients(visitor, created=made, secret=secret)


@route("/console/api-clients/{client_id}/revoke", "POST")
@officer
def console_revoke_api_client(visitor: Visitor, client_id: str) -> Response:
    """Revoke a client: its next call gets 401."""
    services = get_services()
    enforce_console.revoke_api_client(services, client_id, visitor.email)
    return redirect(site_path(services, "/console/api-clients?done=revoked"))
