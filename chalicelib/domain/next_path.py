"""Where a sign-in may send a person back to: a path of this site only (no pydantic)."""

from __future__ import annotations

MAX_NEXT_PATH = 500


def safe_next_path(value: str) -> str:
    """Keep a `next` target only if it is a path of this site (never another host)."""
    if (
        not value
        or len(value) > MAX_NEXT_PATH
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value)
    ):
        return ""
    return value
