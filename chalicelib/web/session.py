"""The session cookie, who is visiting, and the guard on every signed-in page.

The cookie holds a random 32-byte value; only its SHA-256 is stored. It is `HttpOnly`,
`SameSite=Lax`, `Path=/`, and, wherever the site is HTTPS or outside the local stage,
`Secure` with the `__Host-` prefix (bound to this exact host, never to a parent domain).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Concatenate, ParamSpec
from urllib.parse import quote, urlencode, urlsplit

from chalice.app import Request, Response

from ..domain.next_path import safe_next_path
from ..service.context import Services, get_services
from ..settings import RunSettings
from . import signing
from .context import _cookie, page_lang
from .lazy import lazy_function
from .pages import render_page

if TYPE_CHECKING:
    from ..domain.requester import roles_of
    from ..domain.sessions import Session
    from ..service.signin import current_session
else:
    # Imported on first use: the form page checks no session (cold start, issue 14).
    current_session = lazy_function("chalicelib.service.signin", "current_session")
    roles_of = lazy_function("chalicelib.domain.requester", "roles_of")

P = ParamSpec("P")
COOKIE = "sesame-session"
SESSION_CSRF_PURPOSE = "session"
SESSION_CSRF_LIFETIME_SECONDS = 8 * 3600


def cookie_secure(settings: RunSettings) -> bool:
    """Tell whether the cookie must be Secure (HTTPS site, or any stage but the local ones)."""
    return settings.public_base_url.startswith("https://") or not settings.is_local


def cookie_name(settings: RunSettings) -> str:
    """Return the cookie's name: `__Host-` prefixed wherever it is Secure."""
    return f"__Host-{COOKIE}" if cookie_secure(settings) else COOKIE


def _attributes(settings: RunSettings) -> str:
    return "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if cookie_secure(settings) else "")


def session_cookie(settings: RunSettings, value: str) -> str:
    """Set-Cookie value that starts a session (a browser-session cookie: no Max-Age)."""
    return f"{cookie_name(settings)}={value}{_attributes(settings)}"


def cleared_cookie(settings: RunSettings) -> str:
    """Set-Cookie value that removes the session cookie from the browser."""
    return f"{cookie_name(settings)}={_attributes(settings)}; Max-Age=0"


def read_cookie(request: Request, settings: RunSettings) -> str | None:
    """Return the session cookie's value, if the browser sent one."""
    return _cookie(request, cookie_name(settings))


@dataclass(frozen=True)
class Visitor:
    """A signed-in person: who, their session, the token their forms carry, their roles."""

    session: Session
    csrf: str
    roles: frozenset[str]

    @property
    def officer(self) -> bool:
        """Tell whether the visitor is a security officer (by list, ID token or directory)."""
        from ..domain.policy import SECURITY  # a signed-in page: the policy is loaded

        return SECURITY in self.roles

    @property
    def email(self) -> str:
        """Return the visitor's address."""
        return self.session.email


def session_csrf(services: Services, session: Session) -> str:
    """Issue the form token of a session (bound to it: useless in another session)."""
    return signing.issue(
        services.settings.signing_secret,
        SESSION_CSRF_PURPOSE,
        session.session_hash,
        services.clock(),
    )


def session_csrf_ok(
    services: Services, session: Session, form: Mapping[str, Sequence[str]]
) -> bool:
    """Tell whether a posted form carries a genuine, fresh token of this session."""
    nonce = signing.verify(
        services.settings.signing_secret,
        SESSION_CSRF_PURPOSE,
        session.session_hash,
        (form.get("csrf") or [""])[0],
        services.clock(),
        SESSION_CSRF_LIFETIME_SECONDS,
    )
    return nonce is not None


def current_visitor(services: Services, request: Request) -> Visitor | None:
    """Return who is signed in on this request, or None."""
    session = current_session(services, read_cookie(request, services.settings))
    if session is None:
        return None
    return Visitor(
        session=session, csrf=session_csrf(services, session), roles=held_roles(services, session)
    )


def held_roles(services: Services, session: Session) -> frozenset[str]:
    """Return a signed-in person's roles: the policy's lists (read now), and what sign-in
    resolved from the ID token and the directory's groups (kept on the session)."""
    token = session.identity.roles if session.identity is not None else ()
    return roles_of(services.policy, session.email, session_roles=(*session.roles, *token))


def request_path(request: Request) -> str:
    """Rebuild the path and query of the request (to come back after signing in)."""
    path = request.path
    for name, value in (request.uri_params or {}).items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    params = request.query_params
    if params:
        pairs = [(k, v) for k in params for v in params.getlist(k) if k != "lang"]
        if pairs:
            path += "?" + urlencode(pairs)
    return path


def site_path(services: Services, path: str) -> str:
    """Prefix a path of the site with the base path of the public URL."""
    return urlsplit(services.settings.public_base_url).path.rstrip("/") + path


def redirect(location: str, cookie: str | None = None) -> Response:
    """Answer 303 See Other (after a POST, or to the sign-in page)."""
    headers: dict[str, str | list[str]] = {"Location": location}
    if cookie:
        headers["Set-Cookie"] = cookie
    return Response(body="", status_code=303, headers=headers)


def _to_login(services: Services, request: Request, had_cookie: bool) -> Response:
    target = safe_next_path(request_path(request)) if request.method == "GET" else ""
    query = {"next": target} if target else {}
    if had_cookie:
        query["expired"] = "1"
    location = site_path(services, "/login") + (f"?{urlencode(query)}" if query else "")
    return redirect(location, cleared_cookie(services.settings) if had_cookie else None)


def signed_in(
    current_request: Callable[[], Request],
    form_of: Callable[[Request], dict[str, list[str]]],
    *,
    officers_only: bool = False,
) -> Callable[[Callable[Concatenate[Visitor, P], Response]], Callable[P, Response]]:
    """Guard a view: signed out -> the sign-in page; without the role -> 403 and nothing else;
    a POST without the session's form token -> 403. The view gets the visitor first."""

    def decorator(view: Callable[Concatenate[Visitor, P], Response]) -> Callable[P, Response]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
            request = current_request()
            services = get_services()
            visitor = current_visitor(services, request)
            if visitor is None:
                had_cookie = read_cookie(request, services.settings) is not None
                return _to_login(services, request, had_cookie)
            lang = page_lang(request)
            if officers_only and not visitor.officer:
                return render_page("console/forbidden.html", lang, status=403, visitor=visitor)
            if request.method == "POST" and not session_csrf_ok(
                services, visitor.session, form_of(request)
            ):
                return render_page("problem.html", lang, status=403, problem="csrf")
            return view(visitor, *args, **kwargs)

        return wrapper

    return decorator
