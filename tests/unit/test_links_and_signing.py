"""Link tokens and signed form tokens."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.links import link_url, new_token, token_hash, well_formed
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
