"""Digests and their checks, without AWS: signatures, links, the chain against them, requests."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from chalicelib.domain.audit_chain import GENESIS, ChainLink, Problem, Verdict
from chalicelib.domain.audit_digest import SignedDigest, next_digest, parse_digest
from chalicelib.domain.digest_check import (
    AnchorFailure,
    FailureKind,
    RequestState,
    verify_anchored,
)
from chalicelib.domain.rsa_pss import public_key_from_der, verify_pss_sha256
from chalicelib.domain.state_fingerprint import request_fingerprint

pytestmark = pytest.mark.unit
LOCALES = Path(__file__).resolve().parents[2] / "chalicelib" / "web" / "locales"

PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC = public_key_from_der(
    PRIVATE.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
T0 = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def sign(payload: bytes, key: rsa.RSAPrivateKey = PRIVATE, salt: int = 32) -> bytes:
    """Sign as KMS does (32-byte salt) or as the emulator does (the longest salt)."""
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt)
    return key.sign(payload, pss, hashes.SHA256())


def digests(heads: list[int], hashes_at: dict[int, str]) -> list[SignedDigest]:
    """A genuine hourly chain of digests recording these heads."""
    out: list[SignedDigest] = []
    for hour, seq in enumerate(heads):
        head = ChainLink(seq, hashes_at[seq]) if seq else None
        digest = next_digest("main", head, out[-1] if out else None, T0 + timedelta(hours=hour))
        payload = digest.payload()
        out.append(SignedDigest(f"d{hour:04d}", payload, sign(payload)))
    return out


HASHES = {n: f"{n:064x}" for n in range(1, 21)}
INTACT_CHAIN = Verdict(20, ChainLink(20, HASHES[20]))


def test_the_verifier_accepts_kms_and_emulator_salts_and_refuses_anything_else() -> None:
    message = b'{"head_seq":1}'
    assert verify_pss_sha256(PUBLIC, message, sign(message, salt=32))
    assert verify_pss_sha256(PUBLIC, message, sign(message, salt=padding.PSS.MAX_LENGTH))
    assert not verify_pss_sha256(PUBLIC, message + b" ", sign(message))
    assert not verify_pss_sha256(PUBLIC, message, sign(message, key=OTHER))
    assert not verify_pss_sha256(PUBLIC, message, sign(message, salt=20))  # below KMS's 32
    assert not verify_pss_sha256(PUBLIC, message, b"\x00" * 256)


def test_a_digest_is_written_when_nothing_happened_and_chains_to_the_previous() -> None:
    signed = digests([0, 5, 5], HASHES)
    first, second, third = (parse_digest(s.payload) for s in signed)
    assert (first.head_seq, first.head_hash, first.prev_digest_hash) == (0, GENESIS, GENESIS)
    assert second.prev_digest_hash == signed[0].hash and second.prev_digest_at == first.at
    assert (second.events_since, third.events_since) == (5, 0)


def test_an_untouched_log_is_intact_with_its_counts() -> None:
    verdict = verify_anchored(INTACT_CHAIN, digests([3, 12, 20], HASHES), PUBLIC, HASHES, [])
    assert verdict.summary() == "intact: 20 events, 3 digests, last digest at 2026-12-01 16:00 UTC"


def test_a_rewritten_and_recomputed_chain_is_named_after_the_digest_that_saw_it() -> None:
    signed = digests([3, 12, 20], HASHES)
    rewritten = {**HASHES, **{n: f"{n + 1000:064x}" for n in range(8, 21)}}
    verdict = verify_anchored(INTACT_CHAIN, signed, PUBLIC, rewritten, [])
    assert verdict.failure is not None and verdict.failure.kind == "rewritten"
    assert verdict.failure.detail.startswith(
        "event 12 was rewritten after the digest of 2026-12-01 15:00 UTC"
    )
    assert "one of events 4 to 12 was changed" in verdict.failure.detail


def test_a_shorter_log_than_a_digest_recorded_is_a_restore_or_a_truncation() -> None:
    signed = digests([3, 12, 20], HASHES)
    verdict = verify_anchored(Verdict(15, ChainLink(15, HASHES[15])), signed, PUBLIC, HASHES, [])
    assert verdict.failure is not None and verdict.failure.kind == "shortened"
    assert "the log is shorter than the digest of 2026-12-01 16:00 UTC recorded" in (
        verdict.failure.detail
    )


def test_a_forged_digest_fails_its_signature_and_a_removed_one_breaks_the_links() -> None:
    signed = digests([3, 12, 20], HASHES)
    forged = dataclasses.replace(signed[1], signature=sign(signed[1].payload, key=OTHER))
    verdict = verify_anchored(INTACT_CHAIN, [signed[0], forged, signed[2]], PUBLIC, HASHES, [])
    assert verdict.failure is not None and verdict.failure.kind == "signature"
    assert verdict.failure.digest == "d0001"
    verdict = verify_anchored(INTACT_CHAIN, [signed[0], signed[2]], PUBLIC, HASHES, [])
    assert verdict.failure is not None and verdict.failure.kind == "digest_link"


def test_the_chain_problem_comes_first() -> None:
    broken = Verdict(6, None, Problem(7, "altered", "its content does not match its hash"))
    verdict = verify_anchored(broken, digests([3], HASHES), PUBLIC, HASHES, [])
    assert verdict.failure is not None and verdict.failure.kind == "chain"
    assert verdict.summary() == (
        "NOT intact (chain): event 7 altered: its content does not match its hash"
    )


def request_item(status: str = "pending", access_until: str | None = None) -> dict[str, object]:
    body = {"id": "8e35abcd01", "version": 3, "status": status, "access_until": access_until}
    body["steps"] = [{"role": "manager", "status": "approved", "decided_by": "jean"}]
    return {
        "status": {"S": status},
        "version": {"N": "3"},
        "body": {"S": json.dumps(body)},
    }


def test_a_request_changed_outside_the_app_is_named() -> None:
    logged = request_fingerprint(request_item())
    pushed = request_fingerprint(request_item(access_until="2027-12-31T00:00:00Z"))
    states = [
        RequestState("aaaa000011", "f" * 64, "f" * 64),
        RequestState("8e35abcd01", logged, pushed),
    ]
    verdict = verify_anchored(INTACT_CHAIN, digests([20], HASHES), PUBLIC, HASHES, states)
    assert verdict.failure is not None and verdict.failure.kind == "request_changed"
    assert verdict.failure.detail == (
        "request 8E35ABCD differs from its last event: it was changed outside the app"
    )


def test_the_fingerprint_covers_the_item_status_beside_the_body() -> None:
    item = request_item()
    approved_attribute = {**item, "status": {"S": "approved"}}
    assert request_fingerprint(item) == request_fingerprint(request_item())
    assert request_fingerprint(item) != request_fingerprint(approved_attribute)
    assert request_fingerprint(item) != request_fingerprint(request_item(status="approved"))


def test_a_reviews_keep_is_covered_once_set_and_older_items_keep_their_fingerprint() -> None:
    # Issue 17: pushing a grant's review out (a Keep written outside the app) shows, while an
    # item written before reviews existed (or never reviewed) keeps the fingerprint its last
    # event carries (the value the code before reviews computed).
    item = request_item(status="approved")
    body = json.loads(item["body"]["S"])  # type: ignore[index]
    unset = {**item, "body": {"S": json.dumps({**body, "review_kept_at": None})}}
    kept = {**item, "body": {"S": json.dumps({**body, "review_kept_at": "2027-03-01T15:00:00Z"})}}
    before_reviews = "b18a0094cc984f9874976aba37514dc0078244b43e59e64bf79f53e4b76945fc"
    assert request_fingerprint(item) == request_fingerprint(unset) == before_reviews
    assert request_fingerprint(kept) != request_fingerprint(item)


def every_failure() -> list[AnchorFailure]:
    """One failure of each kind, as the checks produce them."""
    signed = digests([3, 12, 20], HASHES)
    forged = dataclasses.replace(signed[1], signature=sign(signed[1].payload, key=OTHER))
    broken = Verdict(6, None, Problem(7, "altered", "its content does not match its hash"))
    short = Verdict(15, ChainLink(15, HASHES[15]))
    rewritten = {**HASHES, 12: "e" * 64}
    gone = [RequestState("8e35abcd01", "f" * 64, None)]
    changed = [RequestState("8e35abcd01", "f" * 64, "0" * 64)]
    cases = [
        verify_anchored(broken, signed, PUBLIC, HASHES, []),
        verify_anchored(INTACT_CHAIN, [signed[0], forged], PUBLIC, HASHES, []),
        verify_anchored(INTACT_CHAIN, signed, PUBLIC, HASHES, [], overwritten=[signed[0].name]),
        verify_anchored(INTACT_CHAIN, [signed[0], signed[2]], PUBLIC, HASHES, []),
        verify_anchored(INTACT_CHAIN, signed, PUBLIC, rewritten, []),
        verify_anchored(short, signed, PUBLIC, HASHES, []),
        verify_anchored(INTACT_CHAIN, signed, PUBLIC, HASHES, changed),
        verify_anchored(INTACT_CHAIN, signed, PUBLIC, HASHES, gone),
    ]
    return [case.failure for case in cases if case.failure is not None]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_failure_can_be_said_in_french_and_english(lang: str) -> None:
    table = tomllib.loads((LOCALES / f"{lang}.toml").read_text(encoding="utf-8"))["audit_anchor"]
    failures = every_failure()
    assert {f.kind for f in failures} == set(get_args(FailureKind))
    for failure in failures:
        sentence = table[failure.label_key.removeprefix("audit_anchor.")]
        said = sentence.format(**failure.facts)
        assert "{" not in said and all(value in said for value in failure.facts.values())
    assert table["intact"].format(events=20, digests=3, last=table["never"])
