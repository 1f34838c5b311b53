"""Render pages: one template, the translator and the language switch, as an HTML response."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from chalice.app import Request, Response

from ..rendering.i18n import Translator, format_date, format_datetime
from ..rendering.labels import lazy_role_labeller
from ..rendering.templates import environment
from ..service.policy import policy_in_force
from ..settings import get_settings
from .context import LANG_COOKIE, explicit_lang

if TYPE_CHECKING:
    from ..domain.models import Lang

HTML = "text/html; charset=utf-8"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


def switch_url(lang: Lang) -> str:
    """Return the same page in the other language (a query-only URL keeps the current path)."""
    other = "en" if lang == "fr" else "fr"
    return f"?{urlencode({'lang': other})}"


def lang_cookie(lang: Lang, *, local: bool) -> str:
    """Set-Cookie value that remembers a person's language for a year."""
    secure = "" if local else "; Secure"
    return (
        f"{LANG_COOKIE}={lang}; Path=/; Max-Age={LANG_COOKIE_MAX_AGE}; SameSite=Lax; HttpOnly"
        f"{secure}"
    )


def remember_lang_choice(
    request: Request, headers: MutableMapping[str, str | list[str]], *, local: bool
) -> None:
    """Remember a `?lang=` choice on whatever page it opens (unless that page set it already)."""
    chosen = explicit_lang(request)
    if chosen is None:
        return
    existing = headers.get("Set-Cookie")
    cookies = [] if existing is None else [existing] if isinstance(existing, str) else existing
    if any(cookie.startswith(f"{LANG_COOKIE}=") for cookie in cookies):
        return
    cookie = lang_cookie(chosen, local=local)
    # A page that starts a session sets a cookie too: Chalice sends a list as two headers.
    headers["Set-Cookie"] = [*cookies, cookie] if cookies else cookie


def render_page(
    template: str,
    lang: Lang,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    remember_lang: bool = False,
    **context: Any,
) -> Response:
    """Render `pages/<template>` in a language and wrap it as a response."""
    settings = get_settings()
    t = Translator(lang)
    body = (
        environment(settings.templates_dir)
        .get_template(f"pages/{template}")
        .render(
            t=t,
            lang=lang,
            other_lang="en" if lang == "fr" else "fr",
            switch_url=switch_url(lang),
            base_path=urlsplit(settings.public_base_url).path.rstrip("/"),
            fmt_datetime=lambda moment: format_datetime(moment, lang),
            fmt_date=lambda moment: format_date(moment, lang),
            local_stage=settings.is_local,
            # The policy is read only if the page names a group's step (the form names none).
            role_label=lazy_role_labeller(policy_in_force, t),
            **context,
        )
    )
    response_headers: dict[str, str | list[str]] = {
        "Content-Type": HTML,
        "Content-Language": lang,
        **(headers or {}),
    }
    if remember_lang:
        response_headers["Set-Cookie"] = lang_cookie(lang, local=settings.is_local)
    return Response(body=body, status_code=status, headers=response_headers)
