"""French-first translations, language choice, and dates for Québec readers."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from ..domain.models import Lang


LANGS: tuple[Lang, ...] = ("fr", "en")
DEFAULT_LANG: Lang = "fr"
LOCAL_ZONE_NAME = "America/Toronto"
# The catalogues stay beside the pages (chalicelib/web/locales/): every branch adds its
# texts there, in a table of its own.
_LOCALES_DIR = Path(__file__).resolve().parent.parent / "web" / "locales"
# Each catalogue flattened to JSON with the SHA-256 of its TOML (`make cold-start-assets`):
# a cold start reads that instead of importing tomllib and parsing (docs/performance.md).
COMPILED_DIR = _LOCALES_DIR / ".compiled"
_MONTHS_FR = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
_MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _flatten(prefix: str, table: Mapping[str, Any], into: dict[str, str]) -> None:
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping):
            _flatten(f"{full}.", value, into)
        else:
            into[full] = str(value)


@functools.cache
def catalogue(lang: Lang) -> dict[str, str]:
    """Return every message of one language, keyed by dotted name."""
    source = (_LOCALES_DIR / f"{lang}.toml").read_bytes()
    compiled = _compiled(lang, hashlib.sha256(source).hexdigest())
    return compiled if compiled is not None else _parsed(source)


def _parsed(source: bytes) -> dict[str, str]:
    import tomllib  # only without a current compiled catalogue (a fresh clone, an edited file)

    messages: dict[str, str] = {}
    _flatten("", tomllib.loads(source.decode("utf-8")), messages)
    return messages


def _compiled(lang: str, digest: str) -> dict[str, str] | None:
    """Return the compiled catalogue of a language if it was compiled from this very TOML."""
    try:
        found = json.loads((COMPILED_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict) or found.get("digest") != digest:
        return None  # missing, or compiled from another version of the file: parse the TOML
    messages = found.get("messages")
    if not isinstance(messages, dict) or not all(
        isinstance(key, str) and isinstance(text, str) for key, text in messages.items()
    ):
        return None
    return messages


def compile_catalogues() -> int:
    """Write each language's flattened catalogue, with its TOML's digest; return how many."""
    COMPILED_DIR.mkdir(exist_ok=True)
    for lang in LANGS:
        source = (_LOCALES_DIR / f"{lang}.toml").read_bytes()
        compiled = {"digest": hashlib.sha256(source).hexdigest(), "messages": _parsed(source)}
        (COMPILED_DIR / f"{lang}.json").write_text(
            json.dumps(compiled, ensure_ascii=False), encoding="utf-8"
        )
    return len(LANGS)


class Translator:
    """Look messages up in one language; a missing key is a bug and raises KeyError."""

    def __init__(self, lang: Lang) -> None:
        self.lang: Lang = lang
        self._messages = catalogue(lang)

    def __call__(self, key: str, **params: object) -> str:
        """Return the message for a key, with its {placeholders} filled in."""
        text = self._messages[key]
        return text.format(**params) if params else text

    def has(self, key: str) -> bool:
        """Tell whether a key exists in this language."""
        return key in self._messages


def parse_lang(value: str | None) -> Lang | None:
    """Return a supported language code from a raw value, or None."""
    if value:
        code = value.strip().lower()[:2]
        if code == "fr":
            return "fr"
        if code == "en":
            return "en"
    return None


def choose_lang(query: str | None, form: str | None, cookie: str | None) -> Lang:
    """Choose the page language: explicit choice, then remembered choice, then French.

    The browser's Accept-Language is ignored on purpose: a public body of Québec speaks
    French by default (Charter of the French language), and English is a choice the person
    makes with the switch or `?lang=en`, never one their browser's settings make for them.
    """
    return parse_lang(query) or parse_lang(form) or parse_lang(cookie) or DEFAULT_LANG


def format_datetime(moment: datetime, lang: Lang) -> str:
    """Format an instant in Québec time with its zone, e.g. « 29 novembre 2026, 16 h 05 HNE »."""
    local = moment.astimezone(local_zone())
    daylight = bool(local.dst())
    if lang == "fr":
        zone = "HAE" if daylight else "HNE"
        day = f"{local.day} {_MONTHS_FR[local.month - 1]} {local.year}"
        return f"{day}, {local.hour} h {local:%M} {zone}"
    zone = "EDT" if daylight else "EST"
    hour = local.hour % 12 or 12
    suffix = "a.m." if local.hour < 12 else "p.m."
    day = f"{_MONTHS_EN[local.month - 1]} {local.day}, {local.year}"
    return f"{day}, {hour}:{local:%M} {suffix} {zone}"


def format_date(moment: datetime | date, lang: Lang) -> str:
    """Format a day in Québec time, e.g. « 29 novembre 2026 »."""
    day = moment.astimezone(local_zone()).date() if isinstance(moment, datetime) else moment
    if lang == "fr":
        return f"{day.day} {_MONTHS_FR[day.month - 1]} {day.year}"
    return f"{_MONTHS_EN[day.month - 1]} {day.day}, {day.year}"


@functools.cache
def local_zone() -> ZoneInfo:
    """Return Québec's time zone, loaded on first use (the empty form shows no date)."""
    # zoneinfo reads the interpreter's build configuration (sysconfig) when imported: a few
    # milliseconds a cold start of GET / does not need (docs/performance.md#cold-start).
    from zoneinfo import ZoneInfo

    return ZoneInfo(LOCAL_ZONE_NAME)


def __getattr__(name: str) -> ZoneInfo:
    """Return `LOCAL_ZONE` (Québec's time zone) for the modules that import it by that name."""
    if name == "LOCAL_ZONE":
        return local_zone()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
