"""A signed digest of the audit chain: what it records and its exact bytes.

Every hour the digest function records the chain's head (sequence and hash), the previous
digest's hash and time, and how many events came since. The payload below is what KMS signs
(RSASSA-PSS with SHA-256) and what an auditor checks with openssl: one line of JSON, keys
sorted, no spaces. Pure: the time and the previous digest are passed in.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from .audit_chain import GENESIS, ChainLink

DIGEST_VERSION = "sesame-digest-1"
SIGNING_ALGORITHM = "RSASSA_PSS_SHA_256"


@dataclass(frozen=True)
class Digest:
    """One digest of the chain, as signed."""

    chain: str
    at: datetime
    head_seq: int
    head_hash: str
    prev_digest_hash: str  # GENESIS for the first digest
    prev_digest_at: datetime | None
    events_since: int

    def payload(self) -> bytes:
        """Return the exact bytes that are signed and stored."""
        fields = {
            "version": DIGEST_VERSION,
            "chain": self.chain,
            "at": _stamp(self.at),
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "prev_digest_hash": self.prev_digest_hash,
            "prev_digest_at": _stamp(self.prev_digest_at) if self.prev_digest_at else None,
            "events_since": self.events_since,
        }
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("ascii")


@dataclass(frozen=True)
class SignedDigest:
    """A digest as stored: its payload bytes, the signature over them and where it lies."""

    name: str  # the object key
    payload: bytes
    signature: bytes

    @property
    def hash(self) -> str:
        """Return the SHA-256 of the payload (what the next digest chains to)."""
        return hashlib.sha256(self.payload).hexdigest()


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def next_digest(
    chain: str, head: ChainLink | None, previous: SignedDigest | None, now: datetime
) -> Digest:
    """Return the digest to sign at `now` after `previous` (written even if nothing happened)."""
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    before = parse_digest(previous.payload) if previous else None
    return Digest(
        chain=chain,
        at=now,
        head_seq=head_seq,
        head_hash=head_hash,
        prev_digest_hash=previous.hash if previous else GENESIS,
        prev_digest_at=before.at if before else None,
        events_since=head_seq - (before.head_seq if before else 0),
    )


def digest_name(chain: str, at: datetime) -> str:
    """Return the object key of a digest: listed in time order, one per second at most."""
    return f"digests/{chain}/{at.astimezone(UTC).strftime('%Y/%m/%d/%Y%m%dT%H%M%SZ')}.json"


def parse_digest(payload: bytes) -> Digest:
    """Read a payload back; raise ValueError when it is not a digest of this version."""
    try:
        fields = json.loads(payload.decode("ascii"))
        if fields.get("version") != DIGEST_VERSION:
            raise ValueError("unknown digest version")
        prev_at = fields["prev_digest_at"]
        return Digest(
            chain=str(fields["chain"]),
            at=datetime.strptime(fields["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
            head_seq=int(fields["head_seq"]),
            head_hash=str(fields["head_hash"]),
            prev_digest_hash=str(fields["prev_digest_hash"]),
            prev_digest_at=(
                datetime.strptime(prev_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
                if prev_at
                else None
            ),
            events_since=int(fields["events_since"]),
        )
    except (KeyError, TypeError, AttributeError, UnicodeDecodeError) as error:
        raise ValueError(f"not a digest: {error}") from error
