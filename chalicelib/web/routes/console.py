"""The security officers' console: queue, requests, grants, dashboard, audit log.

Failed deliveries are listed with the access failures in "Échecs" (routes/enforcement.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from chalice.app import Response

from ...domain.errors import InvalidDecision
from ...rendering.i18n import Translator
from ...service.context import get_services
from ..context import client_info, page_lang
from ..lazy import LazyModule, lazy_function
from ..session import Visitor, redirect, signed_in, site_path
from .common import blueprint, console_page, first, form_or_empty
from .decisions import decide_signed_in, decision_page

if TYPE_CHECKING:
    from ...domain.models import Lang
    from ...service import console
    from ...service.enforce_console import access_of_request
    from .. import console_pages as pages
    from ..charts import dashboard_charts
else:
    # Imported on first use: serving the form needs none of these (cold start, issue 9).
    console = LazyModule("chalicelib.service.console")
    access_of_request = lazy_function("chalicelib.service.enforce_console", "access_of_request")
    pages = LazyModule("chalicelib.web.console_pages")
    dashboard_charts = lazy_function("chalicelib.web.charts", "dashboard_charts")

bp, current, route = blueprint(__name__)
officer = signed_in(current, form_or_empty, officers_only=True)
# The exports, one view each: /console/grants.csv, …/grants.json, …/audit.csv, …/audit.json.
EXPORTS = (("grants", "csv"), ("grants", "json"), ("audit", "csv"), ("audit", "json"))


def _listing(
    visitor: Visitor, section: str, next_key: dict[str, Any] | None, **rows: Any
) -> Response:
    """Render one page of a listing: its rows, the links to the next and the first page."""
    return console_page(
        current(),
        visitor,
        section,
        next_page=_next_cursor(next_key),
        first_page=_cursor() is not None,
        policy=get_services().policy,
        **rows,
    )


def _requests_listing(visitor: Visitor, section: Literal["requests", "grants"]) -> Response:
    """One page of every request, or of the active grants, filtered; one Query per page."""
    page_of = console.requests_page if section == "requests" else console.grants_page
    filters = _filters()
    found = page_of(get_services(), filters.requests, pages.PAGE_SIZE, _cursor())
    # Each template names its rows after its section ("requests", "grants").
    return _listing(visitor, section, found.next_key, filters=filters, **{section: found.items})


def _filters() -> pages.FilterForm:
    return pages.read_filters(pages.query_params(current()), get_services().policy)


def _cursor() -> dict[str, Any] | None:
    value = pages.query_params(current()).get("page")
    return pages.decode_cursor(get_services().settings.signing_secret, value)


def _next_cursor(key: dict[str, Any] | None) -> str:
    return pages.encode_cursor(get_services().settings.signing_secret, key)


@route("/console")
@officer
def console_queue(visitor: Visitor) -> Response:
    """Security steps waiting for an officer, oldest first, with their age."""
    services = get_services()
    queue = console.security_queue(services)
    return console_page(current(), visitor, "queue", queue=queue, policy=services.policy)


@route("/console/requests")
@officer
def console_requests(visitor: Visitor) -> Response:
    """Every request, filtered, newest first; one Query per page."""
    return _requests_listing(visitor, "requests")


def _detail_page(
    visitor: Visitor,
    request_id: str,
    lang: Lang,
    *,
    error: str | None = None,
    comment: str = "",
    reason: str = "",
    form: str = "decide",
) -> Response:
    services = get_services()
    request, events = console.request_detail(services, request_id)
    return decision_page(
        "console/request.html",
        "requests",
        visitor,
        request,
        lang,
        error,
        comment,
        events=events,
        access=access_of_request(request.id),  # per group: applied or failed, since when
        form=form,
        reason=reason,
        done=pages.query_params(current()).get("done", ""),
        now=services.clock(),
    )


@route("/console/requests/{request_id}")
@officer
def console_request(visitor: Visitor, request_id: str) -> Response:
    """A request's whole story: content, steps, every audit event; decide or revoke here."""
    return _detail_page(visitor, request_id, page_lang(current()))


@route("/console/requests/{request_id}/decide", "POST")
@officer
def console_decide(visitor: Visitor, request_id: str) -> Response:
    """Record an officer's decision on the security step, made in the console."""
    back = f"/console/requests/{request_id}"
    return decide_signed_in(current(), visitor, request_id, back, _detail_page)


@route("/console/requests/{request_id}/revoke", "POST")
@officer
def console_revoke(visitor: Visitor, request_id: str) -> Response:
    """End an active grant now, with a reason the requester is told."""
    request = current()
    services = get_services()
    reason = first(form_or_empty(request), "reason")
    try:
        console.revoke_grant(services, request_id, visitor.email, reason, client_info(request))
    except InvalidDecision as error:
        return _detail_page(
            visitor, request_id, page_lang(request), error=error.code, reason=reason, form="revoke"
        )
    return redirect(site_path(services, f"/console/requests/{request_id}?done=revoked"))


@route("/console/grants")
@officer
def console_grants(visitor: Visitor) -> Response:
    """Who may reach which platform until when, filtered; one Query per page."""
    return _requests_listing(visitor, "grants")


def _export(kind: str, extension: str, visitor: Visitor) -> Response:
    """Export the filtered grants or audit events as CSV or JSON; the export is audited."""
    filters = _filters()
    services, client = get_services(), client_info(current())
    label = f"{kind}.{extension} {filters.query()}"
    if kind == "grants":
        header, rows = pages.grant_rows(
            console.export_grants(services, filters.requests, visitor.email, label, client)
        )
    else:
        header, rows = pages.audit_rows(
            console.export_audit(services, filters.audit, visitor.email, label, client)
        )
    name = f"sesame-{kind}.{extension}"
    if extension == "json":
        return pages.json_response(name, rows)
    return pages.csv_response(name, header, ([r[h] for h in header] for r in rows))


@route("/console/dashboard")
@officer
def console_dashboard(visitor: Visitor) -> Response:
    """Requests by status and platform, median time to decision per step, as inline SVG."""
    services = get_services()
    figures = console.dashboard_figures(services)
    charts = dashboard_charts(figures, Translator(page_lang(current())), services.policy)
    return console_page(
        current(),
        visitor,
        "dashboard",
        figures=figures,
        charts=charts,
        days=console.DASHBOARD_DAYS,
    )


@route("/console/audit")
@officer
def console_audit(visitor: Visitor) -> Response:
    """The audit log, filtered, newest first; one Query per page."""
    services = get_services()
    filters = _filters()
    found = console.audit_page(services, filters.audit, pages.PAGE_SIZE, _cursor())
    return _listing(
        visitor,
        "audit",
        found.next_key,
        filters=filters,
        events=found.items,
        actions=pages.AUDIT_ACTIONS,
    )


def _serve_export(kind: str, extension: str) -> None:
    """Serve the filtered `kind` (grants, audit) as `extension` at /console/{kind}.{extension}."""

    @route(f"/console/{kind}.{extension}")
    @officer
    def console_export(visitor: Visitor) -> Response:
        """CSV in UTF-8, formulas neutralised (safe in a spreadsheet), or JSON; audited."""
        return _export(kind, extension, visitor)


for export in EXPORTS:
    _serve_export(*export)
