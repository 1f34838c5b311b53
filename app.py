"""Sésame's HTTP routes: each view reads the request, calls one use case, renders one page."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalice.app import Chalice, CloudWatchEvent, Rate, Request, Response, SNSEvent

from chalicelib import dev_clock
from chalicelib.domain.errors import InvalidDecision, LimitReached, NotFound
from chalicelib.domain.models import Decision, Lang
from chalicelib.lazy import LazyModule, lazy_function
from chalicelib.links import link_well_formed, token_hash, well_formed
from chalicelib.notify import metrics
from chalicelib.service.context import Services, get_services
from chalicelib.settings import get_settings, refuse_local_stage_in_lambda
from chalicelib.web import signing
from chalicelib.web.access_log import log_request
from chalicelib.web.context import client_info, lang_chosen_explicitly, page_lang
from chalicelib.web.errors import handles_errors
from chalicelib.web.forms import BadForm, parse_form
from chalicelib.web.headers import apply_security_headers
from chalicelib.web.pages import remember_lang_choice, render_page
from chalicelib.web.request_form import (
    SUBMIT_BINDING,
    SUBMIT_PURPOSE,
    approver_preview,
    form_page,
    form_values,
    preview_note,
    renewal_values,
)

if TYPE_CHECKING:
    from chalicelib.notify.dev_events import published_events
    from chalicelib.notify.dev_outbox import sent_emails
    from chalicelib.service import console
    from chalicelib.service.confirm import confirm_request
    from chalicelib.service.decide import decide_step
    from chalicelib.service.delegate import (
        delegate,
        delegate_signed_in,
        open_delegation,
        parse_day,
    )
    from chalicelib.service.delivery_events import record_delivery_event
    from chalicelib.service.link_views import (
        LinkView,
        open_confirmation,
        open_decision,
        open_renewal,
        status_timeline,
    )
    from chalicelib.service.preview import preview_submission
    from chalicelib.service.submit import submit_request
    from chalicelib.service.sweep import deliver_due
    from chalicelib.service.timed import run_timed_jobs
    from chalicelib.service.undelegate import (
        cancel_by_link,
        cancel_signed_in,
        my_delegations,
        open_cancellation,
    )
    from chalicelib.web import console_pages as pages
    from chalicelib.web.charts import dashboard_charts
else:
    # Imported on first use: serving the form needs none of these, and a cold start that
    # imports them all takes longer (issue 9, docs/performance.md).
    published_events = lazy_function("chalicelib.notify.dev_events", "published_events")
    sent_emails = lazy_function("chalicelib.notify.dev_outbox", "sent_emails")
    console = LazyModule("chalicelib.service.console")
    confirm_request = lazy_function("chalicelib.service.confirm", "confirm_request")
    decide_step = lazy_function("chalicelib.service.decide", "decide_step")
    delegate = lazy_function("chalicelib.service.delegate", "delegate")
    open_delegation = lazy_function("chalicelib.service.delegate", "open_delegation")
    delegate_signed_in = lazy_function("chalicelib.service.delegate", "delegate_signed_in")
    parse_day = lazy_function("chalicelib.service.delegate", "parse_day")
    record_delivery_event = lazy_function(
        "chalicelib.service.delivery_events", "record_delivery_event"
    )
    open_confirmation = lazy_function("chalicelib.service.link_views", "open_confirmation")
    open_decision = lazy_function("chalicelib.service.link_views", "open_decision")
    open_renewal = lazy_function("chalicelib.service.link_views", "open_renewal")
    status_timeline = lazy_function("chalicelib.service.link_views", "status_timeline")
    preview_submission = lazy_function("chalicelib.service.preview", "preview_submission")
    submit_request = lazy_function("chalicelib.service.submit", "submit_request")
    deliver_due = lazy_function("chalicelib.service.sweep", "deliver_due")
    run_timed_jobs = lazy_function("chalicelib.service.timed", "run_timed_jobs")
    cancel_by_link = lazy_function("chalicelib.service.undelegate", "cancel_by_link")
    cancel_signed_in = lazy_function("chalicelib.service.undelegate", "cancel_signed_in")
    my_delegations = lazy_function("chalicelib.service.undelegate", "my_delegations")
    open_cancellation = lazy_function("chalicelib.service.undelegate", "open_cancellation")
    pages = LazyModule("chalicelib.web.console_pages")
    dashboard_charts = lazy_function("chalicelib.web.charts", "dashboard_charts")

# A Lambda configured with the local or test stage stops at its cold start, not at its first
# request: the error shows in the deployment's first invocation (and its alarm).
refuse_local_stage_in_lambda()
app = Chalice(app_name="sesame")
# The SNS topic the SES configuration set reports bounces and complaints to (infra/template.json).
EMAIL_EVENTS_TOPIC = "sesame-email-events"
FORM = ["application/x-www-form-urlencoded"]
# The outbox page shows the newest e-mails only; the JSON lists them all.
DEV_OUTBOX_PAGE = 10
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
    if event.method == "POST" and event.headers.get("sec-fetch-site") == "cross-site":
        # The browser says another site sent this form: refused whatever token it carries
        # (old browsers send no fetch metadata and still work through the tokens).
        response: Response = _csrf_refused(event)
    else:
        response = get_response(event)
    local = get_settings().is_local
    apply_security_headers(response.headers, local=local)
    remember_lang_choice(event, response.headers, local=local)
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
    if not link_well_formed(token):
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


def _form_key(
    services: Services, form: dict[str, list[str]], purpose: str, binding: str
) -> str | None:
    """Return the one-time key of a form's signed token when genuine and fresh, else None."""
    return signing.verify(
        services.settings.signing_secret,
        purpose,
        binding,
        (form.get("form_token") or [""])[0],
        services.clock(),
        signing.FORM_TOKEN_LIFETIME_SECONDS,
    )


def _submit(
    services: Services,
    request: Request,
    form: dict[str, list[str]],
    values: dict[str, object],
    lang: Lang,
) -> Response:
    key = _form_key(services, form, SUBMIT_PURPOSE, SUBMIT_BINDING)
    if key is None:
        return form_page(services, lang, values=values, errors={"form": "expired"}, status=400)
    renew_token = (form.get("renew") or [""])[0]
    renews = open_renewal(services, renew_token, client_info(request)) if renew_token else None
    try:
        outcome = submit_request(services, form, key, lang, client_info(request), renews)
    except LimitReached as limit:
        # The per-source limit's message lives in the [limits] table of the catalogues.
        code = "limits.submit_source" if limit.limit == "source" else f"limit_{limit.limit}"
        return form_page(services, lang, values=values, errors={"form": code}, status=429)
    if outcome.errors:
        return form_page(
            services,
            lang,
            values=values,
            errors=outcome.errors,
            result=outcome.result,
            status=429 if outcome.limited else 400,
        )
    return render_page(
        "submitted.html",
        lang,
        request=outcome.request,
        duplicate=outcome.duplicate,
        policy=services.policy,
    )


@app.route("/renew/{token}", methods=["GET", "HEAD"])
@handled
def renewal_form(token: str) -> Response:
    """Show the request form filled in from an ending or expired request (a renewal)."""
    request = current()
    services = get_services()
    renewed = open_renewal(services, token, client_info(request))
    lang = page_lang(request) if lang_chosen_explicitly(request) else renewed.lang
    return form_page(services, lang, values=renewal_values(renewed, token))


@app.route("/confirm/{token}", methods=["GET", "HEAD"])
@handled
def show_confirmation(token: str) -> Response:
    """Show what will be confirmed, with a button; never confirms by itself."""
    view = open_confirmation(get_services(), token, client_info(current()))
    _note_link_opened(view)
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
    view = open_decision(get_services(), token, client_info(request))
    response = _decision_page(token, page_lang(request), view=view)
    _note_link_opened(view)
    return response


def _decision_page(
    token: str,
    lang: Lang,
    *,
    error: str | None = None,
    comment: str = "",
    status: int = 200,
    view: LinkView | None = None,
) -> Response:
    """Render the decision page; `view` is the link already opened (one read, not two)."""
    services = get_services()
    if view is None:
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


@app.route("/undelegate/{token}", methods=["GET", "HEAD"])
@handled
def show_cancellation(token: str) -> Response:
    """Show the delegation the approver's e-mailed link cancels, with a button (changes nothing)."""
    request = current()
    opened = open_cancellation(get_services(), token, client_info(request))
    return render_page(
        "undelegate.html", page_lang(request), delegation=opened.delegation, csrf=_csrf_for(token)
    )


@app.route("/undelegate/{token}", methods=["POST"], content_types=FORM)
@handled
def cancel_delegation(token: str) -> Response:
    """Cancel the delegation once (the approver pressed the button); their links come back."""
    request = current()
    if not _csrf_ok(_form(request), token):
        return _csrf_refused(request)
    delegation, given_back = cancel_by_link(get_services(), token, client_info(request))
    return render_page(
        "undelegated.html", page_lang(request), delegation=delegation, given_back=given_back
    )


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
    """List the e-mails the local emulator sent, newest first (local stage only; `?to=` filters)."""
    if not get_settings().is_local:
        raise NotFound("dev outbox")
    params = current().query_params
    recipient = (params.get("to") or "").strip().lower() if params else ""
    emails = [e for e in sent_emails() if not recipient or recipient in e.to]
    return render_page(
        "dev_outbox.html",
        page_lang(current()),
        emails=emails[:DEV_OUTBOX_PAGE],
        total=len(emails),
        recipient=recipient,
    )


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
    """Deliver e-mails and bus events still pending after their transition (crash, throttling)."""
    return deliver_due(get_services())


@app.schedule(Rate(15, unit=Rate.MINUTES))
def run_lifecycle(event: CloudWatchEvent) -> dict[str, int]:
    """Send reminders, hand over late steps, expire undecided requests, end grants."""
    services = get_services()
    done = run_timed_jobs(services)
    # The heartbeat of "no lifecycle run in 1 hour": written only when the run completed.
    metrics.emit({"LifecycleRuns": 1}, services.clock())
    return done


@app.schedule(Rate(1, unit=Rate.HOURS))
def write_audit_digest(event: CloudWatchEvent) -> dict[str, int]:
    """Sign and store the hourly digest of the audit chain (its own role: only it may sign)."""
    from chalicelib.service.digest import get_digest_deps, utc_now, write_digest

    write_digest(get_digest_deps(), utc_now())  # needs no settings, policy or secret
    return {"audit_digests": 1}


# The bus's access events (docs/events.md); infra/template.json points the rule at the
# stack's own bus (Chalice's rule would listen on the default bus).
@app.on_cw_event(
    {"source": ["sesame"], "detail-type": ["AccessGranted", "AccessRevoked", "AccessEnded"]}
)
def apply_access_event(event: CloudWatchEvent) -> dict[str, int]:
    """Apply one access event to the directory groups (add or remove the holder)."""
    from chalicelib.service.enforce_setup import on_access_event

    return on_access_event(event.detail_type, event.detail)


@app.schedule(Rate(1, unit=Rate.HOURS))
def reconcile_groups(event: CloudWatchEvent) -> dict[str, int]:
    """Make the groups Sésame owns equal to the active grants, auditing each repair."""
    from chalicelib.service.enforce_setup import run_reconciliation

    return run_reconciliation()


# ----- local stage only: the movable clock and the published events --------------------------
DEV_CLOCK_PURPOSE, DEV_CLOCK_BINDING = "dev-clock", "dev-clock-form"
MAX_CLOCK_HOURS = 2000


def _dev_clock_page(
    status: int = 200, ran: dict[str, int] | None = None, error: str = ""
) -> Response:
    services = get_services()
    return render_page(
        "dev_clock.html",
        page_lang(current()),
        status=status,
        now=services.clock(),
        offset_hours=round(dev_clock.offset().total_seconds() / 3600, 1),
        ran=ran,
        error=error,
        form_token=signing.issue(
            services.settings.signing_secret, DEV_CLOCK_PURPOSE, DEV_CLOCK_BINDING, services.clock()
        ),
    )


@app.route("/dev/clock", methods=["GET"])
@handled
def show_dev_clock() -> Response:
    """Show the local stack's time (local stage only)."""
    if not get_settings().is_local:
        raise NotFound("dev clock")
    return _dev_clock_page()


@app.route("/dev/clock", methods=["POST"], content_types=FORM)
@handled
def move_dev_clock() -> Response:
    """Move the local clock forward by `hours` and run the scheduled jobs once (local only)."""
    if not get_settings().is_local:
        raise NotFound("dev clock")
    services = get_services()
    form = _form(current())
    if _form_key(services, form, DEV_CLOCK_PURPOSE, DEV_CLOCK_BINDING) is None:
        return _csrf_refused(current())
    raw = (form.get("hours") or [""])[0].strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_CLOCK_HOURS:
        return _dev_clock_page(400, error="hours_invalid")
    dev_clock.advance(int(raw))
    ran = {**run_timed_jobs(services), **deliver_due(services)}
    return _dev_clock_page(ran={k: v for k, v in ran.items() if v})


@app.route("/dev/events", methods=["GET"])
@handled
def dev_events() -> Response:
    """List the access events the emulator received on the bus (local stage only)."""
    if not get_settings().is_local:
        raise NotFound("dev events")
    events = published_events(get_settings().event_bus)
    return render_page("dev_events.html", page_lang(current()), events=events)


@app.route("/dev/events.json", methods=["GET"])
@handled
def dev_events_json() -> Response:
    """Return the access events the emulator received, as JSON (local stage only)."""
    if not get_settings().is_local:
        raise NotFound("dev events")
    body = json.dumps(published_events(get_settings().event_bus), ensure_ascii=False)
    return Response(body=body, headers={"Content-Type": "application/json; charset=utf-8"})


# ============================================================================================
# Sign-in, "my requests" and the officers' console (issue 4). Views stay thin: each reads the
# request, calls one use case (chalicelib/service/signin.py, console.py), renders one page.
# The block keeps its own imports so that it merges as one piece with the routes above.
# ============================================================================================
from collections.abc import Callable  # noqa: E402

from chalicelib.domain.errors import DomainError, LinkExpired, LinkUsed, NotAnApprover  # noqa: E402
from chalicelib.domain.sessions import safe_next_path  # noqa: E402
from chalicelib.service.signin import (  # noqa: E402
    current_session,
    open_signin,
    request_signin,
    sign_in,
    sign_out,
    valid_email,
)
from chalicelib.web.i18n import Translator  # noqa: E402
from chalicelib.web.session import (  # noqa: E402
    Visitor,
    cleared_cookie,
    read_cookie,
    redirect,
    session_cookie,
    session_csrf_ok,
    signed_in,
    site_path,
)

LOGIN_PURPOSE, LOGIN_BINDING, SIGNIN_PURPOSE = "login", "login-form", "signin"


def _first(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0]


def _form_or_empty(request: Request) -> dict[str, list[str]]:
    try:
        return _form(request)
    except BadForm:
        return {}


member = signed_in(current, _form_or_empty)
officer = signed_in(current, _form_or_empty, officers_only=True)


def _login_page(
    lang: Lang,
    *,
    email: str = "",
    next_path: str = "",
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    services = get_services()
    token = signing.issue(
        services.settings.signing_secret, LOGIN_PURPOSE, LOGIN_BINDING, services.clock()
    )
    return render_page(
        "login.html",
        lang,
        status=status,
        form_token=token,
        email=email,
        next_path=next_path,
        error=error,
        notice=notice,
    )


@app.route("/login", methods=["GET"])
@handled
def login_form() -> Response:
    """Ask for a work e-mail address to send a sign-in link to."""
    request = current()
    params = pages.query_params(request)
    return _login_page(
        page_lang(request),
        next_path=safe_next_path(params.get("next", "")),
        notice="expired" if params.get("expired") else None,
    )


@app.route("/login", methods=["POST"], content_types=FORM)
@handled
def login() -> Response:
    """Send a sign-in link; the answer is the same whether the address is known or not."""
    request = current()
    services = get_services()
    try:
        form = _form(request)
    except BadForm as error:
        return _login_page(page_lang(request), error=error.code, status=400)
    lang = page_lang(request, _first(form, "lang"))
    email = _first(form, "email").strip().lower()
    next_path = safe_next_path(_first(form, "next"))
    key = _form_key(services, form, LOGIN_PURPOSE, LOGIN_BINDING)
    if key is None or not valid_email(email):
        problem = "expired" if key is None else "invalid_email"
        return _login_page(lang, email=email, next_path=next_path, error=problem, status=400)
    try:
        request_signin(services, email, next_path, lang, client_info(request))
    except LimitReached:
        # One message for every address (known or not), from the [limits] catalogue table.
        limited = "limits.signin"
        return _login_page(lang, email=email, next_path=next_path, error=limited, status=429)
    return render_page("login_sent.html", lang, email=email)


def _signin_csrf(token: str) -> str:
    services = get_services()
    return signing.issue(
        services.settings.signing_secret, SIGNIN_PURPOSE, token_hash(token), services.clock()
    )


@app.route("/login/{token}", methods=["GET", "HEAD"])
@handled
def show_signin(token: str) -> Response:
    """Show who is about to sign in, with a button; never signs in by itself."""
    link = open_signin(get_services(), token)
    lang = page_lang(current(), link.lang)
    return render_page("login_confirm.html", lang, link=link, csrf=_signin_csrf(token))


@app.route("/login/{token}", methods=["POST"], content_types=FORM)
@handled
def signin(token: str) -> Response:
    """Use the sign-in link once: a new session (the previous one ends), then go on."""
    request = current()
    if not well_formed(token):
        raise NotFound("sign-in link")
    services = get_services()
    form = _form_or_empty(request)
    valid = signing.verify(
        services.settings.signing_secret,
        SIGNIN_PURPOSE,
        token_hash(token),
        _first(form, "csrf"),
        services.clock(),
        signing.DECISION_TOKEN_LIFETIME_SECONDS,
    )
    if valid is None:
        return _csrf_refused(request)
    try:
        done = sign_in(
            services, token, read_cookie(request, services.settings), client_info(request)
        )
    except (LinkUsed, LinkExpired, NotFound):
        return render_page("login_problem.html", page_lang(request), status=410)
    is_officer = done.session.email in services.policy.officer_emails()
    target = done.next_path or ("/console" if is_officer else "/me")
    return redirect(
        site_path(services, target), session_cookie(services.settings, done.cookie_value)
    )


@app.route("/logout", methods=["POST"], content_types=FORM)
@handled
def logout() -> Response:
    """End the session on the server and in the browser."""
    request = current()
    services = get_services()
    session = current_session(services, read_cookie(request, services.settings))
    if session is not None:
        if not session_csrf_ok(services, session, _form_or_empty(request)):
            return _csrf_refused(request)
        sign_out(services, session, client_info(request))
    return render_page(
        "logged_out.html",
        page_lang(request),
        headers={"Set-Cookie": cleared_cookie(services.settings)},
    )


# ----- my requests (every signed-in person) --------------------------------------------------
@app.route("/me", methods=["GET"])
@handled
@member
def my_requests(visitor: Visitor) -> Response:
    """The person's requests (status, withdraw) and the steps waiting for their decision."""
    return _me_page(visitor)


def _me_page(
    visitor: Visitor,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    services = get_services()
    return render_page(
        "account/me.html",
        page_lang(current()),
        status=status,
        delegate_error=error,
        delegate_values=values or {},
        visitor=visitor,
        section="me",
        requests=console.my_requests(services, visitor.email),
        waiting=console.steps_waiting_for(services, visitor.email),
        delegations=my_delegations(services, visitor.email),
        done=pages.query_params(current()).get("done", ""),
        policy=services.policy,
    )


@app.route("/me/requests/{request_id}/withdraw", methods=["POST"], content_types=FORM)
@handled
@member
def withdraw(visitor: Visitor, request_id: str) -> Response:
    """Withdraw one's own request that is not decided yet."""
    services = get_services()
    console.withdraw_request(services, request_id, visitor.email, client_info(current()))
    return redirect(site_path(services, "/me?done=withdrawn"))


@app.route("/me/delegations", methods=["POST"], content_types=FORM)
@handled
@member
def name_my_deputy(visitor: Visitor) -> Response:
    """Record a deputy for the signed-in person's own steps, for a range of days."""
    request = current()
    form = _form_or_empty(request)
    values = {k: _first(form, k) for k in ("deputy", "starts", "ends")}
    try:
        delegate_signed_in(
            get_services(),
            visitor.email,
            values["deputy"],
            parse_day(values["starts"]),
            parse_day(values["ends"]),
            client_info(request),
        )
    except InvalidDecision as error:
        return _me_page(visitor, error=error.code, values=values, status=400)
    return redirect(site_path(get_services(), "/me?done=delegated"))


@app.route("/me/delegations/{delegation_id}/cancel", methods=["POST"], content_types=FORM)
@handled
@member
def cancel_my_delegation(visitor: Visitor, delegation_id: str) -> Response:
    """Cancel one of the person's own delegations; their links come back."""
    services = get_services()
    cancel_signed_in(services, visitor.email, delegation_id, client_info(current()))
    return redirect(site_path(services, "/me?done=undelegated"))


@app.route("/me/steps/{request_id}", methods=["GET"])
@handled
@member
def my_step(visitor: Visitor, request_id: str) -> Response:
    """Show a request waiting for this person's decision, with Approve and Refuse."""
    return _step_page(visitor, request_id, page_lang(current()))


def _step_page(
    visitor: Visitor, request_id: str, lang: Lang, *, error: str | None = None, comment: str = ""
) -> Response:
    services = get_services()
    request = console.load(services, request_id)
    index = request.current_step_index()
    if index is None or visitor.email not in request.steps[index].approvers:
        raise NotAnApprover("not waiting for this person")
    return render_page(
        "account/step.html",
        lang,
        status=400 if error else 200,
        visitor=visitor,
        section="me",
        request=request,
        step_index=index,
        error=error,
        comment=comment,
        policy=services.policy,
    )


def _decide(
    visitor: Visitor, request_id: str, back: str, page: Callable[..., Response]
) -> Response:
    request = current()
    services = get_services()
    form = _form_or_empty(request)
    lang = page_lang(request)
    decision = DECISIONS.get(_first(form, "decision"))
    comment = _first(form, "comment")
    step = _first(form, "step")
    if decision is None:
        return page(visitor, request_id, lang, error="decision_required", comment=comment)
    try:
        console.decide_in_console(
            services,
            request_id,
            int(step) if step.isdigit() else -1,
            visitor.email,
            decision,
            comment,
            client_info(request),
        )
    except InvalidDecision as error:
        return page(visitor, request_id, lang, error=error.code, comment=comment)
    return redirect(site_path(services, f"{back}?done={decision}"))


@app.route("/me/steps/{request_id}", methods=["POST"], content_types=FORM)
@handled
@member
def my_decision(visitor: Visitor, request_id: str) -> Response:
    """Record the manager's decision made signed in (same rules as from the e-mail)."""
    return _decide(visitor, request_id, "/me", _step_page)


# ----- the officers' console -----------------------------------------------------------------
@app.route("/console", methods=["GET"])
@handled
@officer
def console_queue(visitor: Visitor) -> Response:
    """Security steps waiting for an officer, oldest first, with their age."""
    services = get_services()
    return render_page(
        "console/queue.html",
        page_lang(current()),
        visitor=visitor,
        section="queue",
        queue=console.security_queue(services),
        policy=services.policy,
    )


def _filters() -> pages.FilterForm:
    return pages.read_filters(pages.query_params(current()), get_services().policy)


def _cursor() -> dict[str, Any] | None:
    value = pages.query_params(current()).get("page")
    return pages.decode_cursor(get_services().settings.signing_secret, value)


def _next_cursor(key: dict[str, Any] | None) -> str:
    return pages.encode_cursor(get_services().settings.signing_secret, key)


@app.route("/console/requests", methods=["GET"])
@handled
@officer
def console_requests(visitor: Visitor) -> Response:
    """Every request, filtered, newest first; one Query per page."""
    services = get_services()
    filters = _filters()
    found = console.requests_page(services, filters.requests, pages.PAGE_SIZE, _cursor())
    return render_page(
        "console/requests.html",
        page_lang(current()),
        visitor=visitor,
        section="requests",
        filters=filters,
        requests=found.requests,
        next_page=_next_cursor(found.next_key),
        first_page=_cursor() is not None,
        policy=services.policy,
    )


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
    return render_page(
        "console/request.html",
        lang,
        status=400 if error else 200,
        visitor=visitor,
        section="requests",
        request=request,
        events=events,
        error=error,
        form=form,
        comment=comment,
        reason=reason,
        done=pages.query_params(current()).get("done", ""),
        now=services.clock(),
        policy=services.policy,
    )


@app.route("/console/requests/{request_id}", methods=["GET"])
@handled
@officer
def console_request(visitor: Visitor, request_id: str) -> Response:
    """A request's whole story: content, steps, every audit event; decide or revoke here."""
    return _detail_page(visitor, request_id, page_lang(current()))


@app.route("/console/requests/{request_id}/decide", methods=["POST"], content_types=FORM)
@handled
@officer
def console_decide(visitor: Visitor, request_id: str) -> Response:
    """Record an officer's decision on the security step, made in the console."""
    return _decide(visitor, request_id, f"/console/requests/{request_id}", _detail_page)


@app.route("/console/requests/{request_id}/revoke", methods=["POST"], content_types=FORM)
@handled
@officer
def console_revoke(visitor: Visitor, request_id: str) -> Response:
    """End an active grant now, with a reason the requester is told."""
    request = current()
    services = get_services()
    reason = _first(_form_or_empty(request), "reason")
    try:
        console.revoke_grant(services, request_id, visitor.email, reason, client_info(request))
    except InvalidDecision as error:
        return _detail_page(
            visitor, request_id, page_lang(request), error=error.code, reason=reason, form="revoke"
        )
    return redirect(site_path(services, f"/console/requests/{request_id}?done=revoked"))


@app.route("/console/deliveries", methods=["GET"])
@handled
@officer
def console_deliveries(visitor: Visitor) -> Response:
    """E-mails and bus events that failed for good, with the reason; one Query per page."""
    services = get_services()
    rows, next_key = console.failed_deliveries(services, pages.PAGE_SIZE, _cursor())
    done = pages.query_params(current()).get("done", "")
    return render_page(
        "console/deliveries.html",
        page_lang(current()),
        visitor=visitor,
        section="deliveries",
        rows=rows,
        next_page=_next_cursor(next_key),
        first_page=_cursor() is not None,
        done=done if done in ("retried",) else "",
        filters=None,
    )


@app.route("/console/deliveries/{outbox_id}/retry", methods=["POST"], content_types=FORM)
@handled
@officer
def console_retry_delivery(visitor: Visitor, outbox_id: str) -> Response:
    """Queue a failed delivery again (the same message and link); the next sweep sends it."""
    services = get_services()
    console.retry_delivery(services, outbox_id, visitor.email, client_info(current()))
    deliver_due(services)  # try at once rather than wait for the next scheduled sweep
    return redirect(site_path(services, "/console/deliveries?done=retried"))


@app.route("/console/grants", methods=["GET"])
@handled
@officer
def console_grants(visitor: Visitor) -> Response:
    """Who may reach which platform until when, filtered; one Query per page."""
    services = get_services()
    filters = _filters()
    found = console.grants_page(services, filters.requests, pages.PAGE_SIZE, _cursor())
    return render_page(
        "console/grants.html",
        page_lang(current()),
        visitor=visitor,
        section="grants",
        filters=filters,
        grants=found.requests,
        next_page=_next_cursor(found.next_key),
        first_page=_cursor() is not None,
        policy=services.policy,
    )


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


@app.route("/console/grants.csv", methods=["GET"])
@handled
@officer
def console_grants_csv(visitor: Visitor) -> Response:
    """Active grants as CSV (UTF-8, safe to open in a spreadsheet); the export is audited."""
    return _export("grants", "csv", visitor)


@app.route("/console/grants.json", methods=["GET"])
@handled
@officer
def console_grants_json(visitor: Visitor) -> Response:
    """Active grants as JSON; the export is audited."""
    return _export("grants", "json", visitor)


@app.route("/console/dashboard", methods=["GET"])
@handled
@officer
def console_dashboard(visitor: Visitor) -> Response:
    """Requests by status and platform, median time to decision per step, as inline SVG."""
    services = get_services()
    lang = page_lang(current())
    figures = console.dashboard_figures(services)
    return render_page(
        "console/dashboard.html",
        lang,
        visitor=visitor,
        section="dashboard",
        figures=figures,
        charts=dashboard_charts(figures, Translator(lang), services.policy),
        days=console.DASHBOARD_DAYS,
    )


@app.route("/console/audit", methods=["GET"])
@handled
@officer
def console_audit(visitor: Visitor) -> Response:
    """The audit log, filtered, newest first; one Query per page."""
    services = get_services()
    filters = _filters()
    found = console.audit_page(services, filters.audit, pages.PAGE_SIZE, _cursor())
    return render_page(
        "console/audit.html",
        page_lang(current()),
        visitor=visitor,
        section="audit",
        filters=filters,
        events=found.events,
        actions=pages.AUDIT_ACTIONS,
        next_page=_next_cursor(found.next_key),
        first_page=_cursor() is not None,
        policy=services.policy,
    )


@app.route("/console/audit.csv", methods=["GET"])
@handled
@officer
def console_audit_csv(visitor: Visitor) -> Response:
    """The filtered audit log as CSV (formulas neutralised); the export is itself audited."""
    return _export("audit", "csv", visitor)


@app.route("/console/audit.json", methods=["GET"])
@handled
@officer
def console_audit_json(visitor: Visitor) -> Response:
    """The filtered audit log as JSON; the export is itself audited."""
    return _export("audit", "json", visitor)


@app.route("/console/audit/verify", methods=["GET"])
@handled
@officer
def console_verify(visitor: Visitor) -> Response:
    """Walk the whole chain and say whether it is intact (read-only)."""
    services = get_services()
    return render_page(
        "console/verify.html",
        page_lang(current()),
        visitor=visitor,
        section="audit",
        verdict=services.store.audit.verify(),
    )


def _note_link_opened(view: LinkView) -> None:
    """Audit a GET of an e-mail link (who it was sent to, from where); HEAD is not recorded.

    Opening changes nothing else; a failure to record it never breaks the page. The chain's
    head read with the link saves a read.
    """
    http = current()
    if http.method != "GET":
        return
    link, request = view.link, view.request
    person = link.approver or request.content.email
    try:
        console.link_opened(
            get_services(), request, person, link.step, client_info(http), head=view.head
        )
    except DomainError as error:
        app.log.warning("link opening not audited: %s", error)
