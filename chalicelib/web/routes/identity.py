"""Sign-in with the organisation's OpenID Provider: start, callback (issue 15).

The provider's pages do the asking; these two views only hand the browser over and back.
The attempt cookie holds the attempt's secret (only its hash is stored) and the path to come
back to; it is scoped to /login/oidc and lives as long as an attempt (15 minutes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chalice.app import Response

from ...domain.errors import NotFound
from ...domain.next_path import safe_next_path
from ...service.context import Services, get_services
from ...service.links import link_well_formed
from ..context import _cookie, _query, client_info, page_lang
from ..lazy import LazyModule, lazy_function
from ..pages import render_page
from ..session import cookie_secure, held_roles, read_cookie, session_cookie, site_path
from .common import blueprint

if TYPE_CHECKING:
    from ...domain import identity
    from ...domain.identity import SignInFailure
    from ...domain.models import Lang
    from ...domain.sessions import Session
    from ...service.directory_lookup import person_roles
    from ...service.provider_signin import complete_provider_signin, start_provider_signin
    from ...settings import RunSettings
else:
    # Imported on the sign-in views only: the token checks (PyJWT, cryptography) stay off GET /.
    start_provider_signin = lazy_function(
        "chalicelib.service.provider_signin", "start_provider_signin"
    )
    complete_provider_signin = lazy_function(
        "chalicelib.service.provider_signin", "complete_provider_signin"
    )
    person_roles = lazy_function("chalicelib.service.directory_lookup", "person_roles")
    # Its refusals are pydantic's module's: loaded by the sign-in views, not by GET /.
    identity = LazyModule("chalicelib.domain.identity")

bp, current, route = blueprint(__name__)
ATTEMPT_COOKIE = "sesame-oidc-attempt"
ATTEMPT_PATH = "/login/oidc"
ATTEMPT_MAX_AGE_SECONDS = 15 * 60


def _attempt_cookie(settings: RunSettings, value: str, max_age: int) -> str:
    """Set-Cookie value of the attempt cookie (HttpOnly, SameSite=Lax: the callback is a GET)."""
    secure = "; Secure" if cookie_secure(settings) else ""
    path = site_path_of(settings, ATTEMPT_PATH)
    return (
        f"{ATTEMPT_COOKIE}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    )


def site_path_of(settings: RunSettings, path: str) -> str:
    """Prefix a path with the public URL's base path (the cookie's Path must match it)."""
    return urlsplit(settings.public_base_url).path.rstrip("/") + path


def _redirect(location: str, cookies: list[str]) -> Response:
    headers: dict[str, str | list[str]] = {"Location": location, "Set-Cookie": cookies}
    return Response(body="", status_code=303, headers=headers)


@route("/login/oidc")
def start_signin() -> Response:
    """Hand the browser to the organisation's provider (PKCE, state and nonce kept here)."""
    return _start(safe_next_path(_query(current()).get("next", "")))


def _start(next_path: str) -> Response:
    services = get_services()
    lang = page_lang(current())
    try:
        started = start_provider_signin(services, next_path, lang)
    except identity.SignInRefused as refusal:
        return _refused_page(lang, refusal.reason)
    cookie = _attempt_cookie(services.settings, started.attempt_cookie, ATTEMPT_MAX_AGE_SECONDS)
    return _redirect(started.authorization_url, [cookie])


@route("/decide/{token}/sign-in")
def sign_in_to_decide(token: str) -> Response:
    """Sign in with the provider to decide from a link, then come back to its page.

    The path carries the token (not a query string) so that request logs redact it as they
    redact every link path; it changes nothing but a pending sign-in attempt.
    """
    if not link_well_formed(token):
        raise NotFound("decision link")
    return _start(f"/decide/{token}")


@route("/review/{token}/sign-in")
def sign_in_to_review(token: str) -> Response:
    """Sign in with the provider to answer a grant's review, then come back to its page."""
    if not link_well_formed(token):
        raise NotFound("review link")
    return _start(f"/review/{token}")


@route("/login/oidc/callback")
def finish_signin() -> Response:
    """Verify the provider's answer and open the session; any failure: a page, no session."""
    request = current()
    services = get_services()
    lang = page_lang(request)
    callback = _query(request)
    attempt = _cookie(request, ATTEMPT_COOKIE)
    previous = read_cookie(request, services.settings)
    try:
        done = complete_provider_signin(services, attempt, callback, previous, client_info(request))
    except identity.SignInRefused as refusal:
        return _refused_page(lang, refusal.reason, clear=services.settings)
    target = done.next_path or ("/console" if _is_officer(services, done.session) else "/me")
    cookies = [
        session_cookie(services.settings, done.cookie_value),
        _attempt_cookie(services.settings, "", 0),  # the attempt is spent: forget it
    ]
    return _redirect(site_path(services, target), cookies)


def _is_officer(services: Services, session: Session) -> bool:
    from ...domain.policy import SECURITY  # here: a sign-in loads the policy's models anyway

    return SECURITY in held_roles(services, session)  # resolved at sign-in: no new lookup


def _refused_page(lang: Lang, reason: SignInFailure, clear: RunSettings | None = None) -> Response:
    """The refusal in the person's language: 503 provider down, 403 domain refused, else 400."""
    failure = identity.SignInFailure
    status = {failure.PROVIDER_UNREACHABLE: 503, failure.DOMAIN_NOT_ALLOWED: 403}.get(reason, 400)
    headers = {"Set-Cookie": _attempt_cookie(clear, "", 0)} if clear else {}
    if status == 503:
        headers["Retry-After"] = "60"
    return render_page(
        "identity/refused.html",
        lang,
        status=status,
        headers=headers,
        reason=reason.value,
    )
