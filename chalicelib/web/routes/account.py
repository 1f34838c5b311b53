"""Sign-in (a one-time e-mailed link), sign-out, and "my requests" for every signed-in person."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Response

from ...domain.errors import (
    InvalidDecision,
    LimitReached,
    LinkExpired,
    LinkUsed,
    NotAnApprover,
    NotFound,
)
from ...domain.next_path import safe_next_path
from ...service.context import get_services
from ...service.links import well_formed
from ..context import client_info, page_lang
from ..forms import BadForm
from ..lazy import LazyModule
from ..pages import render_page
from ..session import (
    Visitor,
    cleared_cookie,
    held_roles,
    read_cookie,
    redirect,
    session_cookie,
    session_csrf_ok,
    signed_in,
    site_path,
)
from .common import (
    SignedForm,
    blueprint,
    csrf_for,
    csrf_ok,
    csrf_refused,
    first,
    form_or_empty,
    read_form,
)
from .decisions import decide_signed_in, decision_page

if TYPE_CHECKING:
    from ...domain.models import Lang
    from ...service import console, delegate, undelegate
    from .. import console_pages as pages
else:
    # Imported on first use: serving the form needs none of these (cold start, issue 9). The
    # sign-in views import their use case themselves, each on its first call.
    console = LazyModule("chalicelib.service.console")
    delegate = LazyModule("chalicelib.service.delegate")
    undelegate = LazyModule("chalicelib.service.undelegate")
    pages = LazyModule("chalicelib.web.console_pages")

bp, current, route = blueprint(__name__)
member = signed_in(current, form_or_empty)
LOGIN_FORM, SIGNIN_PURPOSE = SignedForm("login", "login-form"), "signin"


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
    return render_page(
        "login.html",
        lang,
        status=status,
        # The organisation's sign-in first where a provider serves the stage (issue 15).
        provider=services.policy.identity.sign_in_for(services.settings.stage) is not None,
        email_links=services.policy.identity.email_links_allowed(services.settings.stage),
        form_token=LOGIN_FORM.token(),
        email=email,
        next_path=next_path,
        error=error,
        notice=notice,
    )


@route("/login")
def login_form() -> Response:
    """Ask for a work e-mail address to send a sign-in link to."""
    request = current()
    params = pages.query_params(request)
    return _login_page(
        page_lang(request),
        next_path=safe_next_path(params.get("next", "")),
        notice="expired" if params.get("expired") else None,
    )


@route("/login", "POST")
def login() -> Response:
    """Send a sign-in link; the answer is the same whether the address is known or not."""
    request = current()
    try:
        form = read_form(request)
    except BadForm as error:
        return _login_page(page_lang(request), error=error.code, status=400)
    lang = page_lang(request, first(form, "lang"))
    email = first(form, "email").strip().lower()
    next_path = safe_next_path(first(form, "next"))
    services = get_services()
    if not services.policy.identity.email_links_allowed(services.settings.stage):
        # This deployment signs people in with its provider only: no link is sent.
        return _login_page(
            lang, next_path=next_path, error="identity_pages.email_links_off", status=403
        )
    from ...service.signin import request_signin, valid_email

    key = LOGIN_FORM.key(form)
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


@route("/login/{token}", "GET", "HEAD")
def show_signin(token: str) -> Response:
    """Show who is about to sign in, with a button; never signs in by itself."""
    from ...service.signin import open_signin

    link = open_signin(get_services(), token)
    lang = page_lang(current(), link.lang)
    return render_page("login_confirm.html", lang, link=link, csrf=csrf_for(token, SIGNIN_PURPOSE))


@route("/login/{token}", "POST")
def signin(token: str) -> Response:
    """Use the sign-in link once: a new session (the previous one ends), then go on."""
    request = current()
    if not well_formed(token):
        raise NotFound("sign-in link")
    services = get_services()
    if not csrf_ok(form_or_empty(request), token, SIGNIN_PURPOSE):
        return csrf_refused(request)
    from ...service.signin import sign_in

    try:
        done = sign_in(
            services, token, read_cookie(request, services.settings), client_info(request)
        )
    except (LinkUsed, LinkExpired, NotFound):
        return render_page("login_problem.html", page_lang(request), status=410)
    from ...domain.policy import SECURITY  # here: a sign-in loads the policy's models anyway

    is_officer = SECURITY in held_roles(services, done.session)
    target = done.next_path or ("/console" if is_officer else "/me")
    return redirect(
        site_path(services, target), session_cookie(services.settings, done.cookie_value)
    )


@route("/logout", "POST")
def logout() -> Response:
    """End the session on the server and in the browser."""
    from ...service.provider_signin import provider_sign_out
    from ...service.signin import current_session

    request = current()
    services = get_services()
    session = current_session(services, read_cookie(request, services.settings))
    if session is not None:
        if not session_csrf_ok(services, session, form_or_empty(request)):
            return csrf_refused(request)
        # Signed in with the provider: its session ends too (RP-initiated logout), reached by
        # the page's refresh and link (a 303 would be stopped by the CSP's form-action).
        elsewhere = provider_sign_out(services, session, client_info(request))
    else:
        elsewhere = None
    return render_page(
        "logged_out.html",
        page_lang(request),
        headers={"Set-Cookie": cleared_cookie(services.settings)},
        provider_logout=elsewhere or None,
    )


@route("/me")
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
        waiting=console.steps_waiting_for(services, visitor.email, visitor.roles),
        delegations=undelegate.my_delegations(services, visitor.email),
        done=pages.query_params(current()).get("done", ""),
        policy=services.policy,
    )


@route("/me/requests/{request_id}/withdraw", "POST")
@member
def withdraw(visitor: Visitor, request_id: str) -> Response:
    """Withdraw one's own request that is not decided yet."""
    services = get_services()
    console.withdraw_request(services, request_id, visitor.email, client_info(current()))
    return redirect(site_path(services, "/me?done=withdrawn"))


@route("/me/delegations", "POST")
@member
def name_my_deputy(visitor: Visitor) -> Response:
    """Record a deputy for the signed-in person's own steps, for a range of days."""
    request = current()
    form = form_or_empty(request)
    values = {k: first(form, k) for k in ("deputy", "starts", "ends")}
    try:
        delegate.delegate_signed_in(
            get_services(),
            visitor.email,
            values["deputy"],
            delegate.parse_day(values["starts"]),
            delegate.parse_day(values["ends"]),
            client_info(request),
        )
    except InvalidDecision as error:
        return _me_page(visitor, error=error.code, values=values, status=400)
    return redirect(site_path(get_services(), "/me?done=delegated"))


@route("/me/delegations/{delegation_id}/cancel", "POST")
@member
def cancel_my_delegation(visitor: Visitor, delegation_id: str) -> Response:
    """Cancel one of the person's own delegations; their links come back."""
    services = get_services()
    undelegate.cancel_signed_in(services, visitor.email, delegation_id, client_info(current()))
    return redirect(site_path(services, "/me?done=undelegated"))


@route("/me/steps/{request_id}")
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
    step = request.steps[index] if index is not None else None
    # Listed on the step, or holding its role (a group, from the ID token or the directory).
    held = step is not None and step.role != "manager" and step.role in visitor.roles
    if step is None or (visitor.email not in step.approvers and not held):
        raise NotAnApprover("not waiting for this person")
    return decision_page(
        "account/step.html", "me", visitor, request, lang, error, comment, step_index=index
    )


@route("/me/steps/{request_id}", "POST")
@member
def my_decision(visitor: Visitor, request_id: str) -> Response:
    """Record the manager's decision made signed in (same rules as from the e-mail)."""
    return decide_signed_in(current(), visitor, request_id, "/me", _step_page)
