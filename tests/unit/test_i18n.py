"""Both languages are complete; dates read as Québec readers expect."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from chalicelib.domain.form_view import FIELDS
from chalicelib.domain.models import RequestStatus, StepStatus
from chalicelib.rendering.i18n import catalogue, choose_lang, format_date, format_datetime
from chalicelib.web.errors import _PROBLEMS
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit
KEY_IN_TEMPLATE = re.compile(r"""\bt\(\s*["']([a-z_.]+)["']""")


def test_french_and_english_have_the_same_keys() -> None:
    assert set(catalogue("fr")) == set(catalogue("en"))


def test_every_literal_key_used_in_templates_exists() -> None:
    used = set()
    for template in (PROJECT_ROOT / "templates").rglob("*.*"):
        if template.suffix in {".html", ".txt"}:
            used.update(KEY_IN_TEMPLATE.findall(template.read_text(encoding="utf-8")))
    assert used, "the key scan found nothing: the pattern is wrong"
    literal = {key for key in used if not key.endswith((".", "_"))}
    prefixes = used - literal
    assert literal - set(catalogue("fr")) == set()
    for prefix in prefixes:
        assert any(key.startswith(prefix) for key in catalogue("fr")), prefix


def test_every_dynamic_key_the_code_can_build_exists() -> None:
    codes = {
        "required",
        "too_long",
        "too_short",
        "invalid_characters",
        "invalid_email",
        "domain_not_allowed",
        "same_as_requester",
        "unknown_choice",
        "not_a_number",
        "out_of_range",
        "policy_changed",
        "too_large",
        "unreadable",
        "expired",
        "decision_required",
        "comment_required",
        "comment_too_long",
    }
    keys = {f"error.{code}" for code in codes}
    keys |= {f"request_status.{s.value}" for s in RequestStatus}
    keys |= {f"step_status.{s.value}" for s in StepStatus}
    keys |= {f"role.{role}" for role in ("manager", "security")}
    keys |= {f"event.{action}" for action in ("submitted", "confirmed", "approved", "refused")}
    keys |= {f"field.{name}" for name in (*FIELDS, "form")}
    for _, _, problem in _PROBLEMS:
        keys |= {f"problem.{problem}", f"problem.{problem}_title"}
    keys |= {"problem.csrf", "problem.csrf_title"}
    for lang in ("fr", "en"):
        assert keys - set(catalogue(lang)) == set(), lang


def test_dates_are_shown_in_quebec_time() -> None:
    moment = datetime(2026, 11, 29, 21, 5, tzinfo=UTC)  # 16 h 05 in Montréal (EST)
    assert format_datetime(moment, "fr") == "29 novembre 2026, 16 h 05 HNE"
    assert format_datetime(moment, "en") == "November 29, 2026, 4:05 p.m. EST"
    summer = datetime(2026, 7, 1, 13, 30, tzinfo=UTC)
    assert format_datetime(summer, "fr") == "1 juillet 2026, 9 h 30 HAE"
    assert format_date(moment, "fr") == "29 novembre 2026"
    assert format_date(datetime(2026, 12, 1, 3, 0, tzinfo=UTC), "en") == "November 30, 2026"


@pytest.mark.parametrize(
    ("query", "form", "cookie", "expected"),
    [
        (None, None, None, "fr"),
        ("en", None, "fr", "en"),
        (None, "en", "fr", "en"),
        (None, None, "en", "en"),
        ("xx", None, None, "fr"),
        ("fr", "en", "en", "fr"),
    ],
)
def test_language_choice_order(
    query: str | None, form: str | None, cookie: str | None, expected: str
) -> None:
    # The browser's Accept-Language takes no part: French unless the person chose English.
    assert choose_lang(query, form, cookie) == expected


def test_the_language_cookie_is_secure_outside_the_local_stack() -> None:
    from chalicelib.web.pages import lang_cookie

    deployed = lang_cookie("en", local=False)
    assert deployed.startswith("lang=en;")
    for attribute in ("Path=/", f"Max-Age={365 * 24 * 3600}", "SameSite=Lax", "HttpOnly", "Secure"):
        assert attribute in deployed.split("; "), attribute
    assert "Secure" not in lang_cookie("fr", local=True)
