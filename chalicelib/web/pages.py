"""Render pages: one template, the translator and the language switch, as an HTML response."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from chalice.app import Response

from ..domain.models import Lang
from ..policy_files import cached_policy
from ..rendering import environment
from ..settings import get_settings
from .i18n import Translator, format_date, format_datetime
from .labels import role_labeller

HTML = "text/html; charset=utf-8"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


def switch_url(lang: Lang) -> str:
    """Return the same page in the other language (a query-only URL keeps the current path)."""
    other = "en" if lang == "fr" else "fr"
    return f"?{urlencode({'lang': other})}"


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
            role_label=role_labeller(cached_policy(settings.policy_dir), t),
            **context,
        )
    )
    response_headers: dict[str, str | list[str]] = {
        "Content-Type": HTML,
        "Content-Language": lang,
        **(headers or {}),
    }
    if remember_lang:
        secure = "" if settings.is_local else "; Secure"
        response_headers["Set-Cookie"] = (
            f"lang={lang}; Path=/; Max-Age={LANG_COOKIE_MAX_AGE}; SameSite=Lax; HttpOnly{secure}"
        )
    return Response(body=body, status_code=status, headers=response_headers)
