"""Operator commands over the signed digests: check the log against them, write one now.

`make verify-audit` → `python -m ops.verify_audit --digests` → `verify_anchored_log`;
`make audit-digest` → `python -m ops.audit_digest` writes one digest on demand.
Both run against the local stack by default and, with `--stage prod` and the environment's
AWS credentials, against a deployed stage (verification needs read access only; writing a
digest needs the digest function's role).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.errors import DomainError

if TYPE_CHECKING:
    from chalicelib.service.digest import DigestDeps


def _deps(stage: str, main_table: str | None, audit_table: str | None) -> DigestDeps:
    from chalicelib.service.digest import digest_deps, digest_names

    bucket, key = digest_names(stage)
    return digest_deps(
        main_table or f"sesame-{stage}-main", audit_table or f"sesame-{stage}-audit", bucket, key
    )


def verify_anchored_log(stage: str, main_table: str | None, audit_table: str | None) -> int:
    """Print the anchored verdict of a stage's log; exit 0 only when intact (2: unreadable)."""
    from chalicelib.service.audit_integrity import check_integrity

    deps = _deps(stage, main_table, audit_table)
    try:
        verdict = check_integrity(deps)
    except (DomainError, ClientError, BotoCoreError) as error:
        sys.stderr.write(f"Cannot read the audit log or its digests ({stage}): {error}\n")
        return 2
    sys.stdout.write(f"Audit log of {stage}: {verdict.summary()}\n")
    return 0 if verdict.intact else 1


def main(argv: list[str] | None = None) -> int:
    """Write one signed digest of the stage's chain now; print what it recorded."""
    from ops.verify_audit import use_local_emulator

    parser = argparse.ArgumentParser(prog="python -m ops.audit_digest")
    parser.add_argument("--stage", default=os.environ.get("SESAME_STAGE", "local"))
    parser.add_argument("--main-table", default=os.environ.get("SESAME_MAIN_TABLE"))
    parser.add_argument("--audit-table", default=os.environ.get("SESAME_AUDIT_TABLE"))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    use_local_emulator(args.stage)
    from chalicelib.service.context import utc_now
    from chalicelib.service.digest import write_digest

    deps = _deps(args.stage, args.main_table, args.audit_table)
    now = utc_now()
    if args.stage == "local":
        from chalicelib.dev import clock as dev_clock

        now = dev_clock.now()  # the local stack's moved clock, as its jobs see it
    try:
        digest = write_digest(deps, now)
    except (DomainError, ClientError, BotoCoreError) as error:
        sys.stderr.write(f"Cannot write a digest ({args.stage}): {error}\n")
        return 2
    sys.stdout.write(
        f"Digest written: event {digest.head_seq}, {digest.events_since} since the previous\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
