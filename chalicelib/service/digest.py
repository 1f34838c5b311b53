"""Write signed digests of the audit chain: every hour (its own Lambda role), on demand.

The digest function reads the chain's head and the latest digest, and writes the next one,
even when nothing happened (so a silent hour shows as a digest with no new event). It needs
neither the policy nor the signing secret: it builds only the two stores it uses.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .. import aws
from ..domain.audit_digest import Digest, next_digest, parse_digest
from ..store.audit import AuditLog
from ..store.digests import DigestStore
from .context import utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DigestDeps", "get_digest_deps", "utc_now", "write_digest", "write_due_digests"]
HOUR = timedelta(hours=1)
MAX_CATCH_UP = 2000  # the local clock moves by 2,000 hours at most


@dataclass(frozen=True)
class DigestDeps:
    """What writing and checking digests need: the chain, the digest store, the main table."""

    log: AuditLog
    digests: DigestStore
    client: DynamoDBClient
    main_table: str


def digest_names(stage: str) -> tuple[str, str]:
    """Return the bucket and KMS key of a stage (the environment may name others)."""
    bucket = os.environ.get("SESAME_DIGEST_BUCKET") or f"sesame-{stage}-audit-digests"
    key = os.environ.get("SESAME_DIGEST_KEY") or f"alias/sesame-{stage}-audit-digest"
    return bucket, key


@functools.cache
def get_digest_deps() -> DigestDeps:
    """Build the stores from the function's environment, once per process."""
    stage = os.environ.get("SESAME_STAGE", "local")
    main = os.environ.get("SESAME_MAIN_TABLE") or f"sesame-{stage}-main"
    audit = os.environ.get("SESAME_AUDIT_TABLE") or f"sesame-{stage}-audit"
    bucket, key = digest_names(stage)
    return digest_deps(main, audit, bucket, key)


def digest_deps(main: str, audit: str, bucket: str, key: str) -> DigestDeps:
    """Build the stores over the process's clients for these tables, bucket and key."""
    return DigestDeps(
        log=AuditLog(aws.dynamodb(), main, audit),
        digests=DigestStore(aws.s3(), aws.kms(), bucket, key),
        client=aws.dynamodb(),
        main_table=main,
    )


def write_digest(deps: DigestDeps, now: datetime) -> Digest:
    """Sign and store the digest of the chain as it stands now (the hourly job, on demand)."""
    previous = deps.digests.latest(now)
    digest = next_digest(deps.log.chain, deps.log.head(), previous, now)
    deps.digests.write(digest)
    return digest


def write_due_digests(deps: DigestDeps, now: datetime) -> list[Digest]:
    """Write one digest per whole hour since the last one (the local stack's moved clock).

    The first digest is written at once; then each hour mark passed since the latest digest
    gets one, each chained to the one before (moving the clock 5 hours writes 5).
    """
    previous = deps.digests.latest(now)
    if previous is None:
        return [write_digest(deps, now)]
    last_at = parse_digest(previous.payload).at
    written: list[Digest] = []
    head = deps.log.head()
    for step in range(1, MAX_CATCH_UP + 1):
        at = last_at + step * HOUR
        if at > now:
            break
        digest = next_digest(deps.log.chain, head, previous, at)
        previous = deps.digests.write(digest)
        written.append(digest)
    return written


def run_digest_job(now: datetime) -> dict[str, int]:
    """Write the digests due at `now` (the local jobs thread and /dev/clock call this)."""
    return {"audit_digests": len(write_due_digests(get_digest_deps(), now))}
