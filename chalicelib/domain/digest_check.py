"""Verification of the audit log against its signed digests and the requests' fingerprints.

The order is the issue's: the chain itself, each digest's signature (public key fetched once),
each digest's link to the previous one, the chain against every digest (a head a digest
recorded must still be there with the same hash), then each request's current item against
its last event. The first failure is reported with what it means. Pure: the reader gathers
the stored facts and hands them over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from .audit_chain import GENESIS, Verdict
from .audit_digest import Digest, SignedDigest, parse_digest
from .rsa_pss import RsaPublicKey, verify_pss_sha256

FailureKind = Literal[
    "chain",
    "signature",
    "overwritten",
    "digest_link",
    "rewritten",
    "shortened",
    "request_changed",
    "request_gone",
]


@dataclass(frozen=True)
class AnchorFailure:
    """The first thing that does not hold, and what it means, in one sentence."""

    kind: FailureKind
    detail: str
    request_id: str | None = None
    digest: str | None = None  # the digest object concerned, if any
    # The same facts for a page to say in the reader's language (keys of [audit_anchor]).
    facts: Mapping[str, str] = field(default_factory=dict)

    @property
    def label_key(self) -> str:
        """Return the key of the sentence in the [audit_anchor] table of the locales."""
        return f"audit_anchor.{self.kind}"


@dataclass(frozen=True)
class AnchorVerdict:
    """Intact with N events and M digests (and the last digest's time), or the first failure."""

    events: int
    digests: int
    last_digest_at: datetime | None
    failure: AnchorFailure | None = None

    @property
    def intact(self) -> bool:
        """Tell whether everything checked out."""
        return self.failure is None

    def summary(self) -> str:
        """Say it in one line, as `make verify-audit` prints it."""
        if self.failure is not None:
            return f"NOT intact ({self.failure.kind}): {self.failure.detail}"
        last = _hour(self.last_digest_at) if self.last_digest_at else "never"
        return f"intact: {self.events} events, {self.digests} digests, last digest at {last}"


@dataclass(frozen=True)
class RequestState:
    """A request as the log and the table tell it: its last fingerprint and its item's."""

    request_id: str
    logged: str  # the fingerprint carried by its last event that changed it
    current: str | None  # the fingerprint of its item now; None: the item is gone


def _hour(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def check_digests(
    digests: Sequence[SignedDigest], key: RsaPublicKey
) -> tuple[list[Digest], AnchorFailure | None]:
    """Check every signature, then every link to the previous digest; return them parsed."""
    parsed: list[Digest] = []
    for signed in digests:
        try:
            digest = parse_digest(signed.payload)
        except ValueError:
            digest = None
        if digest is None or not verify_pss_sha256(key, signed.payload, signed.signature):
            detail = f"the digest {signed.name} is not signed by the digest key: it was forged"
            facts = {"name": signed.name}
            return parsed, AnchorFailure("signature", detail, digest=signed.name, facts=facts)
        parsed.append(digest)
    for index, digest in enumerate(parsed):
        previous = parsed[index - 1] if index else None
        expected_hash = digests[index - 1].hash if index else GENESIS
        linked = (
            digest.prev_digest_hash == expected_hash
            and digest.prev_digest_at == (previous.at if previous else None)
            and digest.events_since == digest.head_seq - (previous.head_seq if previous else 0)
        )
        if not linked:
            detail = (
                f"the digest of {_hour(digest.at)} does not follow the one before it: "
                "a digest was removed or the chain of digests was broken"
            )
            facts = {"digest_at": _hour(digest.at)}
            return parsed, AnchorFailure(
                "digest_link", detail, digest=digests[index].name, facts=facts
            )
    return parsed, None


def check_chain_against(
    digests: Sequence[Digest], names: Sequence[str], count: int, hashes: Mapping[int, str]
) -> AnchorFailure | None:
    """Check that every head a digest recorded is still in the chain with the same hash.

    `hashes` holds the chain's hash at each position a digest names (read in one walk).
    """
    previous_seq = 0
    for digest, name in zip(digests, names, strict=True):
        if digest.head_seq > count:
            detail = (
                f"the log is shorter than the digest of {_hour(digest.at)} recorded "
                f"({count} events, the digest saw {digest.head_seq}): a restore or a truncation"
            )
            facts = {
                "digest_at": _hour(digest.at), "count": str(count), "seen": str(digest.head_seq)
            }  # fmt: skip
            return AnchorFailure("shortened", detail, digest=name, facts=facts)
        if digest.head_seq and hashes.get(digest.head_seq) != digest.head_hash:
            first = previous_seq + 1
            span = (
                f"event {first} was changed"
                if first == digest.head_seq
                else f"one of events {first} to {digest.head_seq} was changed"
            )
            detail = (
                f"event {digest.head_seq} was rewritten after the digest of {_hour(digest.at)} "
                f"(it recorded another hash): {span} and the chain recomputed"
            )
            facts = {
                "digest_at": _hour(digest.at), "seq": str(digest.head_seq), "first": str(first)
            }  # fmt: skip
            return AnchorFailure("rewritten", detail, digest=name, facts=facts)
        previous_seq = digest.head_seq
    return None


def check_requests(states: Sequence[RequestState]) -> AnchorFailure | None:
    """Name the first request whose item differs from what its last event recorded."""
    for state in states:
        if state.current != state.logged:
            reference = state.request_id[:8].upper()
            what = "is gone" if state.current is None else "differs from its last event"
            detail = f"request {reference} {what}: it was changed outside the app"
            kind: FailureKind = "request_gone" if state.current is None else "request_changed"
            facts = {"reference": reference}
            return AnchorFailure(kind, detail, request_id=state.request_id, facts=facts)
    return None


def verify_anchored(
    chain: Verdict,
    signed: Sequence[SignedDigest],
    key: RsaPublicKey,
    hashes: Mapping[int, str],
    requests: Sequence[RequestState],
    overwritten: Sequence[str] = (),
) -> AnchorVerdict:
    """Run every check in order and return the first failure, or intact with the counts."""
    digests, failure = check_digests(signed, key)
    last_at = digests[-1].at if digests else None

    def verdict(problem: AnchorFailure | None) -> AnchorVerdict:
        return AnchorVerdict(chain.count, len(signed), last_at, problem)

    if chain.problem is not None:
        problem = chain.problem
        detail = f"event {problem.seq} {problem.kind}: {problem.detail}"
        facts = {"seq": str(problem.seq), "problem": problem.kind}
        return verdict(AnchorFailure("chain", detail, facts=facts))
    if failure is None and overwritten:
        detail = (
            f"the digest {overwritten[0]} was overwritten or deleted: Object Lock kept the "
            "first version (checked here), but someone with write access to the bucket tried"
        )
        facts = {"name": overwritten[0]}
        failure = AnchorFailure("overwritten", detail, digest=overwritten[0], facts=facts)
    if failure is not None:
        return verdict(failure)
    names = [s.name for s in signed]
    failure = check_chain_against(digests, names, chain.count, hashes)
    return verdict(failure or check_requests(requests))
