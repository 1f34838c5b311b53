"""Render an e-mail from its templates, in one language or French then English."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from markupsafe import Markup

from ..domain.models import Lang
from ..domain.policy import Policy
from ..rendering.i18n import Translator, format_date, format_datetime
from ..rendering.labels import role_labeller
from ..rendering.templates import environment


@dataclass(frozen=True)
class RenderedEmail:
    """A ready-to-send message: subject, plain text and HTML."""

    subject: str
    text: str
    html: str
    lang: Lang


def _helpers(lang: Lang, policy: Policy) -> dict[str, Any]:
    t = Translator(lang)
    return {
        "t": t,
        "role_label": role_labeller(policy, t),
        "lang": lang,
        "fmt_datetime": lambda moment: format_datetime(moment, lang),
        "fmt_date": lambda moment: format_date(moment, lang),
    }


def link_in(url: str, lang: Lang) -> str:
    """Return a link that opens its page in a language (unless it names one already)."""
    if "lang" in parse_qs(urlsplit(url).query):
        return url
    return f"{url}{'&' if '?' in url else '?'}lang={lang}"


def _links_in(context: Mapping[str, Any], lang: Lang) -> dict[str, Any]:
    # Every `*_url` of an e-mail is a link of ours: each language's section carries its own
    # language, so the person reading the English text lands on English pages.
    return {
        key: link_in(value, lang)
        for key, value in context.items()
        if key.endswith("_url") and isinstance(value, str)
    }


def render_email(
    templates_dir: Path, name: str, langs: Sequence[Lang], context: Mapping[str, Any]
) -> RenderedEmail:
    """Render `email/<name>.*`; with two languages, French comes first and English below."""
    env = environment(templates_dir)
    subjects, texts, sections = [], [], []
    for lang in langs:
        values = {**context, **_links_in(context, lang), **_helpers(lang, context["policy"])}
        subject = env.get_template(f"email/{name}.subject.txt").render(values)
        subjects.append(" ".join(subject.split()))
        texts.append(env.get_template(f"email/{name}.txt").render(values).strip())
        # The section was rendered by the autoescaping environment: every value in it is
        # escaped already, and Markup only stops the layout from escaping it a second time.
        body = env.get_template(f"email/{name}.html").render(values)
        escaped = Markup(body)  # noqa: S704  # nosec B704
        sections.append((lang, escaped))
    separator = "\n\n" + "-" * 60 + "\n\n"
    layout = env.get_template("email/_layout.html")
    html = layout.render(sections=sections, lang=langs[0], subject=subjects[0])
    return RenderedEmail(
        subject=" / ".join(subjects),
        text=separator.join(texts) + "\n",
        html=html,
        lang=langs[0],
    )
