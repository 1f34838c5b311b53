"""Parse url-encoded form bodies strictly: bounded size, bounded fields, valid UTF-8."""

from __future__ import annotations

from urllib.parse import parse_qs

MAX_BODY_BYTES = 32 * 1024
MAX_FIELDS = 100


class BadForm(Exception):
    """The body cannot be read as a form (too large, not UTF-8, too many fields)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class CsrfRefused(Exception):
    """A form sent without a valid token of its page, or from another site."""


def parse_form(body: bytes | None) -> dict[str, list[str]]:
    """Return the fields of a url-encoded body, keeping blank values."""
    if not body:
        return {}
    if len(body) > MAX_BODY_BYTES:
        raise BadForm("too_large")
    try:
        text = body.decode("ascii")
        return parse_qs(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise BadForm("unreadable") from None
