"""Sésame's HTTP routes: each view reads the request, calls one use case, renders one page."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from chalice.app import Chalice, CloudWatchEvent, Rate, Request, Response, SNSEvent

from chalicelib.domain.errors import InvalidDecision, LimitReached, NotFound
from chalicelib.domain.models import Decision, Lang
from chalicelib.links import token_hash, well_formed
from chalicelib.notify.dev_outbox import sent_emails
from chalicelib.service.confirm import confirm_request
from chalicelib.service.context import Services, get_services
from chalicelib.service.decide import decide_step
from chalicelib.service.delegate import delegate, open_delegation, parse_day
from chalicelib.service.delivery_events import record_delivery_event
from chalicelib.service.link_views import open_confirmation, open_decision, status_timeline
from chalicelib.service.preview import preview_submission
from chalicelib.service.submit import submit_request
from chalicelib.service.sweep import deliver_due
from chalicelib.settings import get_settings
from chalicelib.web import signing
from chalicelib.web.access_log import log_request
from chalicelib.web.context import client_info, lang_chosen_explicitly, page_lang
from chalicelib.web.errors import handles_errors
from chalicelib.web.forms import BadForm, parse_form
from chalicelib.web.headers import apply_security_headers
from chalicelib.web.pages import render_page
from chalicelib.web.request_form import (
    SUBMIT_BINDING,
    SUBMIT_PURPOSE,
    approver_preview,
    form_page,
    form_values,
    preview_note,
)

app = Chalice(app_name="sesame")
# The SNS topic the SES configuration set reports bounces and complaints to (infra/template.json).
EMAIL_EVENTS_TOPIC = "sesame-email-events"
FORM = ["application/x-www-form-urlencoded"]
DECISIONS: dict[str, Decision] = {"approve": "approve", "refuse": "refuse"}
STATIC_DIR = Path(__file__).resolve().parent / "templates" / "static"


def current() -> Request:
    """Return the request being served."""
    request = app.current_request
    if request is None:
        raise RuntimeError("no request is being served")
    return request


handled = handles_errors(current)


@app.middleware("http")
def security_headers(event: Request, get_response: Any) -> Response:
    """Add the security headers to every response, and log one JSON line per request."""
    started = time.perf_counter()
    response: Response = get_response(event)
    apply_security_headers(response.headers, local=get_settings().is_local)
    log_request(event, response.status_code, time.perf_counter() - started)
    return response


@app.on_sns_message(topic=EMAIL_EVENTS_TOPIC)
def email_delivery_events(event: SNSEvent) -> None:
    """Mark e-mails SES could not deliver for good (bounces, complaints) as failed."""
    record_delivery_event(get_services(), event.message)


def _form(request: Request) -> dict[str, list[str]]:
    raw = request.raw_body
    return parse_form(raw.encode("utf-8") if isinstance(raw, str) else raw)


def _csrf_ok(form: dict[str, list[str]], token: str) -> bool:
    if not well_formed(token):
        raise NotFound("link")
    services = get_services()
    value = (form.get("csrf") or [""])[0]
    nonce = signing.verify(
        services.settings.signing_secret,
        "link",
        token_hash(token),
        value,
        services.clock(),
        signing.DECISION_TOKEN_LIFETIME_SECONDS,
    )
    return nonce is not None


def _csrf_for(token: str) -> str:
    services = get_services()
    return signing.issue(
        services.settings.signing_secret, "link", token_hash(token), services.clock()
    )


def _csrf_refused(request: Request) -> Response:
    return render_page("problem.html", page_lang(request), status=403, problem="csrf")


@app.route("/", methods=["GET", "HEAD"])
@handled
def request_form() -> Response:
    """Show the empty request form."""
    request = current()
    return form_page(
        get_services(), page_lang(request), remember_lang=lang_chosen_explicitly(request)
    )


@app.route("/", methods=["POST"], content_types=FORM)
@handled
def file_request() -> Response:
    """File a request, or show the form again (switched language, preview, or what is wrong)."""
    request = current()
    services = get_services()
    try:
        form = _form(request)
    except BadForm as error:
        return form_page(services, page_lang(request), errors={"form": error.code}, status=400)
    lang = page_lang(request, (form.get("lang") or [""])[0])
    values = form_values(form)
    action = (form.get("action") or [""])[0]
    if action in ("lang:fr", "lang:en", "preview"):
        # The language switch and the preview re-send the form: show it again, values kept.
        chosen: Lang = "fr" if action == "lang:fr" else "en" if action == "lang:en" else lang
        result = preview_submission(services, form)
        return form_page(
            services, chosen, values=values, result=result, remember_lang=action != "preview"
        )
    return _submit(services, request, form, values, lang)


def _submit(
    services: Services,
    request: Request,
    form: dict[str, list[str]],
    values: dict[str, object],
    lang: Lang,
) -> Response:
    key = signing.verify(
        services.settings.signing_secret,
        SUBMIT_PURPOSE,
        SUBMIT_BINDING,
        (form.get("form_token") or [""])[0],
        services.clock(),
        signing.FORM_TOKEN_LIFETIME_SECONDS,
    )
    if key is None:
        return form_page(services, lang, values=values, errors={"form": "expired"}, status=400)
    try:
        outcome = submit_request(services, form, key, lang, client_info(request))
    except LimitReached as limit:
        errors = {"form": f"limit_{limit.limit}"}
        return form_page(services, lang, values=values, errors=errors, status=429)
    if outcome.errors:
        return form_page(
            services, lang, values=values, errors=outcome.errors, result=outcome.result, status=400
        )
    return render_page(
        "submitted.html",
        lang,
        request=outcome.request,
        duplicate=outcome.duplicate,
        policy=services.policy,
    )


@app.route("/confirm/{token}", methods=["GET", "HEAD"])
@handled
def show_confirmation(token: str) -> Response:
    """Show what will be confirmed, with a button; never confirms by itself."""
    view = open_confirmation(get_services(), token, client_info(current()))
    return render_page(
        "confirm.html",
        page_lang(current()),
        request=view.request,
        csrf=_csrf_for(token),
        policy=get_services().policy,
    )


@app.route("/confirm/{token}", methods=["POST"], content_types=FORM)
@handled
def confirm(token: str) -> Response:
    """Confirm the request (the requester pressed the button)."""
    request = current()
    form = _form(request)
    if not _csrf_ok(form, token):
        return _csrf_refused(request)
    confirmed = confirm_request(get_services(), token, client_info(request))
    return render_page("confirmed.html", page_lang(request), request=confirmed)


@app.route("/decide/{token}", methods=["GET", "HEAD"])
@handled
def show_decision(token: str) -> Response:
    """Show the request exactly as it will be decided, with Approve and Refuse."""
    request = current()
    return _decision_page(token, page_lang(request))


def _decision_page(
    token: str, lang: Lang, *, error: str | None = None, comment: str = "", status: int = 200
) -> Response:
    services = get_services()
    view = open_decision(services, token, client_info(current()))
    return render_page(
        "decide.html",
        lang,
        status=status,
        request=view.request,
        step_index=view.link.step,
        approver=view.link.approver,
        csrf=_csrf_for(token),
        error=error,
        comment=comment,
        policy=services.policy,
    )


@app.route("/decide/{token}", methods=["POST"], content_types=FORM)
@handled
def decide(token: str) -> Response:
    """Record the approver's decision (the approver pressed a button)."""
    request = current()
    form = _form(request)
    lang = page_lang(request)
    if not _csrf_ok(form, token):
        return _csrf_refused(request)
    decision = DECISIONS.get((form.get("decision") or [""])[0])
    comment = (form.get("comment") or [""])[0]
    if decision is None:
        return _decision_page(token, lang, error="decision_required", comment=comment, status=400)
    try:
        decided = decide_step(get_services(), token, decision, comment, client_info(request))
    except InvalidDecision as error:
        return _decision_page(token, lang, error=error.code, comment=comment, status=400)
    return render_page("decided.html", lang, request=decided, decision=decision)


@app.route("/delegate/{token}", methods=["GET", "HEAD"])
@handled
def show_delegation(token: str) -> Response:
    """Show the form naming a deputy (from an approval link; changes nothing)."""
    request = current()
    return _delegation_page(token, page_lang(request), {}, None, 200)


def _delegation_page(
    token: str, lang: Lang, values: dict[str, str], error: str | None, status: int
) -> Response:
    view = open_delegation(get_services(), token, client_info(current()))
    return render_page(
        "delegate.html",
        lang,
        status=status,
        approver=view.link.approver,
        csrf=_csrf_for(token),
        values=values,
        error=error,
    )


@app.route("/delegate/{token}", methods=["POST"], content_types=FORM)
@handled
def name_deputy(token: str) -> Response:
    """Record a deputy for a range of days (the approver pressed the button)."""
    request = current()
    form = _form(request)
    lang = page_lang(request)
    if not _csrf_ok(form, token):
        return _csrf_refused(request)
    values = {k: (form.get(k) or [""])[0] for k in ("deputy", "starts", "ends")}
    try:
        delegation, moved = delegate(
            get_services(),
            token,
            values["deputy"],
            parse_day(values["starts"]),
            parse_day(values["ends"]),
            client_info(request),
        )
    except InvalidDecision as error:
        return _delegation_page(token, lang, values, error.code, 400)
    return render_page("delegated.html", lang, delegation=delegation, moved=moved)


@app.route("/status/{token}", methods=["GET", "HEAD"])
@handled
def status(token: str) -> Response:
    """Show a request's status and timeline to its requester (read-only)."""
    request = current()
    access_request, events = status_timeline(get_services(), token, client_info(request))
    return render_page(
        "status.html",
        page_lang(request),
        request=access_request,
        events=events,
        policy=get_services().policy,
    )


@app.route("/preview.json", methods=["GET"])
@handled
def preview_json() -> Response:
    """Return who will approve the selection given in the query (the form's script asks)."""
    request = current()
    params = request.query_params
    form = {name: params.getlist(name) for name in params} if params else {}
    services = get_services()
    lang = page_lang(request)
    result = preview_submission(services, form)
    typed = (form.get("manager_email") or [""])[0].strip().lower() or None
    preview = approver_preview(
        services.policy, lang, result.routing, result.pinned_manager or typed
    )
    body = {
        "steps": list(preview.steps) if preview else [],
        "max_duration_days": preview.max_duration_days if preview else None,
        "note": preview_note(preview, lang),
    }
    return Response(
        body=json.dumps(body, ensure_ascii=False),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )


STATIC_TYPES = {
    "site.css": "text/css; charset=utf-8",
    "preview.js": "text/javascript; charset=utf-8",
}


@app.route("/static/{name}", methods=["GET"])
@handled
def static_file(name: str) -> Response:
    """Serve the stylesheet and the one script (no inline code, so the CSP can forbid it)."""
    if name not in STATIC_TYPES:
        raise NotFound("static file")
    return Response(
        body=(STATIC_DIR / name).read_text(encoding="utf-8"),
        headers={"Content-Type": STATIC_TYPES[name], "Cache-Control": "public, max-age=3600"},
    )


@app.route("/dev/outbox", methods=["GET"])
@handled
def dev_outbox() -> Response:
    """List every e-mail the local emulator sent (local stage only)."""
    if not get_settings().is_local:
        raise NotFound("dev outbox")
    return render_page("dev_outbox.html", page_lang(current()), emails=sent_emails())


@app.route("/dev/outbox.json", methods=["GET"])
@handled
def dev_outbox_json() -> Response:
    """Return every e-mail the local emulator sent, as JSON (local stage only; `?to=` filters)."""
    if not get_settings().is_local:
        raise NotFound("dev outbox")
    params = current().query_params
    recipient = (params.get("to") or "").strip().lower() if params else ""
    emails = [e for e in sent_emails() if not recipient or recipient in e.to]
    body = json.dumps([e.as_json() for e in emails], ensure_ascii=False)
    return Response(body=body, headers={"Content-Type": "application/json; charset=utf-8"})


@app.schedule(Rate(5, unit=Rate.MINUTES))
def deliver_pending_email(event: CloudWatchEvent) -> dict[str, int]:
    """Deliver e-mails still pending after their transition (crash, SES throttling)."""
    return deliver_due(get_services())
