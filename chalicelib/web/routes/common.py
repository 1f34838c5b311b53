"""What every blueprint's views share: the request being served, forms, CSRF tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol

from chalice.app import Blueprint, Request, Response

from ...domain.errors import NotFound
from ...service.context import get_services
from ...service.links import link_well_formed, token_hash
from .. import signing
from ..context import page_lang
from ..errors import handles_errors
from ..forms import BadForm, CsrfRefused, parse_form
from ..pages import render_page

if TYPE_CHECKING:
    from ...domain.models import Decision, Lang
    from ..session import Visitor

# Routes accept JSON by default: a form route lists the url-encoded type.
FORM = ["application/x-www-form-urlencoded"]
DECISIONS: dict[str, Decision] = {"approve": "approve", "refuse": "refuse"}
P = ParamSpec("P")


class ViewWrapper(Protocol):
    """A decorator that keeps a view's signature (the one that gives a view its error page)."""

    def __call__(self, view: Callable[P, Response], /) -> Callable[P, Response]: ...


class Route(Protocol):
    """Register a view at a path for some methods (GET when none is named)."""

    def __call__(self, path: str, /, *methods: str) -> ViewWrapper: ...


def request_of(blueprint: Blueprint) -> Callable[[], Request]:
    """Return a function giving the request a blueprint's view is serving."""

    def current() -> Request:
        request = blueprint.current_request
        if request is None:
            raise RuntimeError("no request is being served")
        return request

    return current


def blueprint(name: str) -> tuple[Blueprint, Callable[[], Request], Route]:
    """Return a route module's blueprint, the request it serves, and its `route` decorator.

    `route(path, *methods)` registers a view whose every error becomes a page; a POST is a
    form's (url-encoded), since routes accept only JSON unless told otherwise.
    """
    bp = Blueprint(name)
    current = request_of(bp)
    handled = handles_errors(current)

    def route(path: str, /, *methods: str) -> ViewWrapper:
        chosen = list(methods or ("GET",))
        options = {"content_types": FORM} if "POST" in chosen else {}

        def register(view: Callable[P, Response]) -> Callable[P, Response]:
            registered: Callable[P, Response] = bp.route(path, methods=chosen, **options)(
                handled(view)
            )
            return registered

        return register

    return bp, current, route


def read_form(request: Request) -> dict[str, list[str]]:
    """Return the url-encoded fields of a request's body (BadForm when unreadable)."""
    raw = request.raw_body
    return parse_form(raw.encode("utf-8") if isinstance(raw, str) else raw)


def form_or_empty(request: Request) -> dict[str, list[str]]:
    """Return the form's fields, or none when the body cannot be read as a form."""
    try:
        return read_form(request)
    except BadForm:
        return {}


def first(form: dict[str, list[str]], name: str) -> str:
    """Return a field's first value, or an empty string."""
    return (form.get(name) or [""])[0]


def form_key(form: dict[str, list[str]], purpose: str, binding: str) -> str | None:
    """Return the one-time key of a form's signed token when genuine and fresh, else None."""
    services = get_services()
    return signing.verify(
        services.settings.signing_secret,
        purpose,
        binding,
        first(form, "form_token"),
        services.clock(),
        signing.FORM_TOKEN_LIFETIME_SECONDS,
    )


def form_token(purpose: str, binding: str) -> str:
    """Issue a signed token for a form that no e-mail link identifies."""
    services = get_services()
    return signing.issue(services.settings.signing_secret, purpose, binding, services.clock())


@dataclass(frozen=True)
class SignedForm:
    """A form no e-mail link identifies: its token is signed for a purpose, bound to the form."""

    purpose: str
    binding: str

    def token(self) -> str:
        """Issue the token the form's page carries."""
        return form_token(self.purpose, self.binding)

    def key(self, form: dict[str, list[str]]) -> str | None:
        """Return the one-time key of the sent form's token when genuine and fresh, else None."""
        return form_key(form, self.purpose, self.binding)


def csrf_for(token: str, purpose: str = "link") -> str:
    """Issue the CSRF token of the page an e-mail (or sign-in) link opens."""
    return form_token(purpose, token_hash(token))


def csrf_ok(form: dict[str, list[str]], token: str, purpose: str = "link") -> bool:
    """Say whether the form carries a genuine, fresh CSRF token for this link."""
    services = get_services()
    nonce = signing.verify(
        services.settings.signing_secret,
        purpose,
        token_hash(token),
        first(form, "csrf"),
        services.clock(),
        signing.DECISION_TOKEN_LIFETIME_SECONDS,
    )
    return nonce is not None


def link_csrf_ok(form: dict[str, list[str]], token: str) -> bool:
    """Check an e-mail link's CSRF token; a malformed link is not found."""
    if not link_well_formed(token):
        raise NotFound("link")
    return csrf_ok(form, token)


def link_form(request: Request, token: str) -> dict[str, list[str]]:
    """Return the POSTed form of a link's page; CsrfRefused without the page's CSRF token."""
    form = read_form(request)
    if not link_csrf_ok(form, token):
        raise CsrfRefused("link")
    return form


@dataclass(frozen=True)
class LinkPost:
    """A link page's POST, its CSRF token checked: the request, its form, the page's language."""

    request: Request
    form: dict[str, list[str]]
    lang: Lang

    def field(self, name: str) -> str:
        """Return a field's first value, or an empty string."""
        return first(self.form, name)


def link_post(request: Request, token: str) -> LinkPost:
    """Read a link page's POST; CsrfRefused without the page's CSRF token."""
    return LinkPost(request, link_form(request, token), page_lang(request))


def csrf_refused(request: Request) -> Response:
    """The page for a form sent without a valid token, or from another site."""
    return render_page("problem.html", page_lang(request), status=403, problem="csrf")


def console_page(request: Request, visitor: Visitor, section: str, **context: Any) -> Response:
    """Render a console section's page, `console/<section>.html`, the section highlighted."""
    lang = page_lang(request)
    return render_page(f"console/{section}.html", lang, visitor=visitor, section=section, **context)


def json_response(body: str) -> Response:
    """Answer with a JSON body (a fresh header dict: the middleware adds to it)."""
    return Response(body=body, headers={"Content-Type": "application/json; charset=utf-8"})
