"""The grants API's pure rules: entries of the active set, its ETag, cursors, If-None-Match."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.grants_api import (
    BadCursor,
    GrantEntry,
    GrantPerson,
    decode_cursor,
    encode_cursor,
    etag_matches,
    page_of,
    set_etag,
)

pytestmark = pytest.mark.unit
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def entry(n: int, platform: str = "linkedin") -> GrantEntry:
    """The n-th grant, ending n days from now."""
    return GrantEntry(
        reference=f"R{n:07d}",
        request_id=f"r{n:07d}abc",
        person=GrantPerson(email=f"p{n}@mcn.gouv.qc.ca"),
        platform=platform,
        level="read",
        start=NOW,
        end=NOW + timedelta(days=n),
        domains=["linkedin.com"],
    )


def test_pages_cover_the_set_once_in_order_whatever_the_size() -> None:
    entries = [entry(n) for n in range(1, 8)]
    for size in (1, 2, 3, 7, 50):
        seen: list[GrantEntry] = []
        cursor = None
        while True:
            page = page_of(entries, cursor, size)
            seen += page.grants
            if page.next is None:
                break
            cursor = page.next
        assert seen == entries, size


def test_a_grant_added_meanwhile_never_shifts_a_page() -> None:
    entries = [entry(n) for n in (1, 2, 3, 4)]
    first = page_of(entries, None, 2)
    grown = sorted([*entries, entry(0)], key=lambda e: e.end)  # ends before the cursor
    second = page_of(grown, first.next, 2)
    assert [e.reference for e in second.grants] == ["R0000003", "R0000004"]


def test_the_etag_changes_with_any_entry_and_only_then() -> None:
    entries = [entry(1), entry(2)]
    assert set_etag(entries) == set_etag([entry(1), entry(2)])
    assert set_etag(entries) != set_etag([entry(1)])
    assert set_etag(entries) != set_etag([entry(1), entry(2, platform="x")])
    assert set_etag([]) != set_etag(entries)
    assert set_etag(entries).startswith('"') and set_etag(entries).endswith('"')


def test_if_none_match_follows_http_comparison() -> None:
    tag = set_etag([entry(1)])
    assert etag_matches(tag, tag)
    assert etag_matches(f'"other", W/{tag}', tag)
    assert etag_matches("*", tag)
    assert not etag_matches(None, tag) and not etag_matches("", tag)
    assert not etag_matches('"other"', tag)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "x" * 401,
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b'{"after": 3}').decode(),
        base64.urlsafe_b64encode(b'{"after": "no-separators"}').decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_a_cursor_the_api_did_not_give_is_refused(cursor: str) -> None:
    with pytest.raises(BadCursor):
        decode_cursor(cursor)


def test_a_cursor_round_trips() -> None:
    one = entry(3)
    assert decode_cursor(encode_cursor(one)) == f"{one.end.isoformat()}#{one.request_id}#linkedin"
