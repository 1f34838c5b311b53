"""Read what a view needs from Chalice's current request: language, client, form body."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING

from chalice.app import Request

from ..rendering.i18n import choose_lang, parse_lang

if TYPE_CHECKING:
    # Names only: serving the empty form defines no pydantic model (docs/performance.md).
    from ..domain.models import ClientInfo, Lang

LANG_COOKIE = "lang"

MAX_USER_AGENT = 512


def _cookie(request: Request, name: str) -> str | None:
    raw = request.headers.get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def _query(request: Request) -> dict[str, str]:
    raw = request.query_params
    return {str(k): str(v) for k, v in raw.items()} if raw else {}


def page_lang(request: Request, form_lang: str | None = None) -> Lang:
    """Choose the language of the page for this request."""
    params = _query(request)
    query = params.get("lang")
    return choose_lang(query, form_lang, _cookie(request, LANG_COOKIE))


def explicit_lang(request: Request) -> Lang | None:
    """Return the language the visitor picked in this URL (`?lang=`), if any."""
    return parse_lang(_query(request).get("lang"))


def chosen_lang(request: Request) -> Lang | None:
    """Return the language the visitor chose (this URL's `?lang=`, else their cookie), if any."""
    return explicit_lang(request) or parse_lang(_cookie(request, LANG_COOKIE))


def lang_chosen_explicitly(request: Request) -> bool:
    """Tell whether the visitor picked a language with the switch (so it is remembered)."""
    return explicit_lang(request) is not None


def client_info(request: Request) -> ClientInfo:
    """Return the source IP and user agent of the request, for the audit log."""
    from ..domain.models import ClientInfo  # a request that is audited: models are loaded

    context: dict[str, object] = request.context or {}
    identity = context.get("identity")
    if not isinstance(identity, dict):
        identity = {}
    source_ip = str(identity.get("sourceIp") or "")[:64]
    user_agent = "".join(c for c in request.headers.get("user-agent", "") if c.isprintable())[
        :MAX_USER_AGENT
    ]
    return ClientInfo(source_ip=source_ip, user_agent=user_agent)
