"""Link tokens and signed form tokens."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.service.links import (
    derive_link_token,
    fill_links,
    link_placeholder,
    link_request_id,
    link_url,
    link_well_formed,
    new_link_id,
    new_token,
    token_hash,
    well_formed,
)
from chalicelib.web.signing import issue, verify

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SECRET = b"s" * 32


def test_tokens_carry_32_random_bytes_and_never_repeat() -> None:
    tokens = {new_token() for _ in range(10_000)}
    assert len(tokens) == 10_000
    sample = next(iter(tokens))
    assert len(base64.urlsafe_b64decode(sample + "=")) == 32
    assert well_formed(sample)


def test_only_the_sha256_is_kept() -> None:
    token = new_token()
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in token_hash(token)


@pytest.mark.parametrize("bad", ["", "short", "a" * 42, "a" * 44, "a" * 42 + "/", "../" * 15])
def test_malformed_tokens_are_rejected_before_any_lookup(bad: str) -> None:
    assert not well_formed(bad)


def test_link_tokens_name_their_request_before_the_random_part() -> None:
    token = derive_link_token(SECRET, "0123456789abcdef01234567", new_link_id())
    assert link_well_formed(token)
    assert link_request_id(token) == "0123456789abcdef01234567"
    assert len(base64.urlsafe_b64decode(token.partition(".")[2] + "=")) == 32
    assert link_request_id(new_token()) is None  # a link issued before request ids
    assert link_well_formed(new_token())


def test_link_tokens_are_derived_from_their_id_under_the_secret_and_never_repeat() -> None:
    request_id = "0123456789abcdef01234567"
    ids = {new_link_id() for _ in range(10_000)}
    tokens = {derive_link_token(SECRET, request_id, link_id) for link_id in ids}
    assert len(ids) == len(tokens) == 10_000
    link_id = next(iter(ids))
    # The same id gives the same token (a resend sends the same link); another key does not.
    assert derive_link_token(SECRET, request_id, link_id) == derive_link_token(
        SECRET, request_id, link_id
    )
    assert derive_link_token(b"t" * 32, request_id, link_id) != derive_link_token(
        SECRET, request_id, link_id
    )
    # Another request id with the same link id gives an unrelated secret part.
    other = derive_link_token(SECRET, "1123456789abcdef01234567", link_id)
    assert (
        other.partition(".")[2] != derive_link_token(SECRET, request_id, link_id).partition(".")[2]
    )


def test_a_message_keeps_placeholders_and_the_sender_fills_the_tokens_in() -> None:
    request_id, link_id = "0123456789abcdef01234567", new_link_id()
    url = link_url("https://s.gouv.qc.ca", "decide", link_placeholder(request_id, link_id))
    stored = f'<a href="{url}">'
    token = derive_link_token(SECRET, request_id, link_id)
    assert token not in stored and not link_well_formed(link_placeholder(request_id, link_id))
    assert fill_links(SECRET, stored) == f'<a href="https://s.gouv.qc.ca/decide/{token}">'


@pytest.mark.parametrize(
    "bad", ["", ".", "ABC." + "a" * 43, "abc." + "a" * 43, "a" * 41 + "." + "a" * 43, "x." * 30]
)
def test_malformed_link_tokens_are_rejected_before_any_lookup(bad: str) -> None:
    assert not link_well_formed(bad)
    assert link_request_id(bad) is None


def test_links_use_the_configured_base_url() -> None:
    assert (
        link_url("https://sesame.gouv.qc.ca", "decide", "T") == "https://sesame.gouv.qc.ca/decide/T"
    )


def test_a_signed_token_verifies_only_for_its_purpose_binding_and_lifetime() -> None:
    token = issue(SECRET, "link", "hash-a", NOW)
    assert verify(SECRET, "link", "hash-a", token, NOW + timedelta(minutes=5), 3600)
    assert verify(SECRET, "link", "hash-b", token, NOW, 3600) is None
    assert verify(SECRET, "submit", "hash-a", token, NOW, 3600) is None
    assert verify(b"t" * 32, "link", "hash-a", token, NOW, 3600) is None
    assert verify(SECRET, "link", "hash-a", token, NOW + timedelta(hours=2), 3600) is None
    tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert verify(SECRET, "link", "hash-a", tampered, NOW, 3600) is None
    assert verify(SECRET, "link", "hash-a", "not.a.token", NOW, 3600) is None


def test_each_issued_form_token_has_its_own_nonce() -> None:
    first = verify(SECRET, "submit", "form", issue(SECRET, "submit", "form", NOW), NOW, 60)
    second = verify(SECRET, "submit", "form", issue(SECRET, "submit", "form", NOW), NOW, 60)
    assert first and second and first != second


def test_the_local_request_log_hides_every_link_kinds_token() -> None:
    from local_stack.runner import _redact

    token = "0c0491796ad49edf127b45e0." + "A" * 43
    for kind in ("confirm", "decide", "review", "status", "delegate", "undelegate", "renew"):
        line = _redact(f'"GET /{kind}/{token}?lang=fr HTTP/1.1" 200')
        assert token not in line and "A" * 43 not in line and f"/{kind}/[redacted]" in line
