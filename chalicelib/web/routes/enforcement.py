"""The console's enforcement pages: failures (e-mails and access), reconcile now, API clients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from ...service.context import get_services
from ..context import client_info, page_lang
from ..errors import handles_errors
from ..lazy import LazyModule
from ..pages import render_page
from ..session import Visitor, redirect, signed_in, site_path
from .common import FORM, first, form_or_empty, request_of

if TYPE_CHECKING:
    from ...service import enforce_console
    from .. import console_pages as pages
else:
    # Imported on first use: serving the form needs none of these (cold start, issue 9).
    enforce_console = LazyModule("chalicelib.service.enforce_console")
    pages = LazyModule("chalicelib.web.console_pages")

bp = Blueprint(__name__)
current = request_of(bp)
handled = handles_errors(current)
officer = signed_in(current, form_or_empty, officers_only=True)
DONE = ("retried", "still_failing")


def _failures(visitor: Visitor, status: int = 200, **context: Any) -> Response:
    services = get_services()
    params = pages.query_params(current())
    start = pages.decode_cursor(services.settings.signing_secret, params.get("page"))
    found = enforce_console.failures_page(services, pages.PAGE_SIZE, start)
    done = params.get("done", "")
    context.setdefault("reconciled", None)
    return render_page(
        "console/failures.html",
        page_lang(current()),
        status=status,
        visitor=visitor,
        section="deliveries",
        found=found,
        done=done if done in DONE else "",
        next_page=pages.encode_cursor(services.settings.signing_secret, found.next_key),
        first_page=start is not None,
        **context,
    )


@bp.route("/console/failures", methods=["GET"])
@handled
@officer
def console_failures(visitor: Visitor) -> Response:
    """Failed e-mails and lasting access failures, each with its reason and a retry."""
    return _failures(visitor)


@bp.route("/console/failures/access/retry", methods=["POST"], content_types=FORM)
@handled
@officer
def console_retry_access(visitor: Visitor) -> Response:
    """Apply a failed access change again (the next failure is listed again, with its reason)."""
    form = form_or_empty(current())
    state = enforce_console.retry_access(
        first(form, "request_id")[:40], first(form, "group")[:300], first(form, "email")[:254]
    )
    done = "retried" if state.state == "applied" else "still_failing"
    return redirect(site_path(get_services(), f"/console/failures?done={done}"))


@bp.route("/console/reconcile", methods=["POST"], content_types=FORM)
@handled
@officer
def console_reconcile(visitor: Visitor) -> Response:
    """Reconcile the groups Sésame owns now (audited with the officer), then show the result."""
    report = enforce_console.reconcile_now(get_services(), visitor.email, client_info(current()))
    return _failures(visitor, reconciled=report)


def _clients(visitor: Visitor, status: int = 200, **context: Any) -> Response:
    services = get_services()
    for name in ("done", "created", "secret", "bad_name", "name"):
        context.setdefault(name, None)
    return render_page(
        "console/api_clients.html",
        page_lang(current()),
        status=status,
        visitor=visitor,
        section="api_clients",
        clients=enforce_console.api_clients(services),
        **context,
    )


@bp.route("/console/api-clients", methods=["GET"])
@handled
@officer
def console_api_clients(visitor: Visitor) -> Response:
    """The grants API's clients: who may read the grants, since when; create or revoke."""
    done = pages.query_params(current()).get("done", "")
    return _clients(visitor, done=done if done == "revoked" else "")


@bp.route("/console/api-clients", methods=["POST"], content_types=FORM)
@handled
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


@bp.route("/console/api-clients/{client_id}/revoke", methods=["POST"], content_types=FORM)
@handled
@officer
def console_revoke_api_client(visitor: Visitor, client_id: str) -> Response:
    """Revoke a client: its next call gets 401."""
    services = get_services()
    enforce_console.revoke_api_client(services, client_id, visitor.email)
    return redirect(site_path(services, "/console/api-clients?done=revoked"))
