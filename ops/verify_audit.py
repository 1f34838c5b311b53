"""`python -m ops.verify_audit` (`make verify-audit`): is the audit chain intact?

Prints "intact, N events, last hash …" (exit 0) or the first event that is altered, missing,
re-ordered or inserted (exit 1). Against the local stack by default (`make verify-audit`);
with `--stage prod` (or SESAME_STAGE) and AWS credentials, against a deployed table.
Note the last hash it prints: giving it back later with `--anchor N:HASH` proves that nothing
up to event N was rewritten since, even by someone able to recompute the whole chain.
With `--digests` (what `make verify-audit` runs) it checks, after the chain, the signed hourly
digests, the chain against them and each request against its last event, and prints
"intact: N events, M digests, last digest at …" or the first failure and what it means.
"""

from __future__ import annotations

import argparse
import os
import sys

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.audit_chain import ChainLink
from chalicelib.domain.errors import DomainError

LOCAL_EMULATOR = "http://127.0.0.1:8001"


def _anchor(value: str) -> ChainLink:
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise argparse.ArgumentTypeError("expected N:HASH (the position and its 64-hex hash)")
    return ChainLink(seq=int(seq), hash=digest.lower())


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ops.verify_audit", description=__doc__)
    parser.add_argument("--stage", default=os.environ.get("SESAME_STAGE", "local"))
    parser.add_argument("--main-table", default=os.environ.get("SESAME_MAIN_TABLE"))
    parser.add_argument("--audit-table", default=os.environ.get("SESAME_AUDIT_TABLE"))
    parser.add_argument("--anchor", type=_anchor, help="N:HASH printed by an earlier check")
    parser.add_argument("--digests", action="store_true", help="check against the digests too")
    return parser.parse_args(argv)


def use_local_emulator(stage: str) -> None:
    """Point boto3 at the local stack's emulator (the local stage, no endpoint given)."""
    if stage == "local" and not os.environ.get("AWS_ENDPOINT_URL"):
        os.environ["AWS_ENDPOINT_URL"] = LOCAL_EMULATOR
        for name, value in (
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_DEFAULT_REGION", "ca-central-1"),
        ):
            os.environ.setdefault(name, value)


def main(argv: list[str] | None = None) -> int:
    """Check the chain of the stage's tables; print the verdict; exit 0 only when intact."""
    args = _arguments(sys.argv[1:] if argv is None else argv)
    use_local_emulator(args.stage)
    if args.digests:
        from ops.audit_digest import verify_anchored_log

        return verify_anchored_log(args.stage, args.main_table, args.audit_table)
    from chalicelib import aws
    from chalicelib.store.audit import AuditLog

    main_table = args.main_table or f"sesame-{args.stage}-main"
    audit_table = args.audit_table or f"sesame-{args.stage}-audit"
    log = AuditLog(aws.dynamodb(), main_table, audit_table)
    try:
        verdict = log.verify(args.anchor)
    except (DomainError, ClientError, BotoCoreError) as error:
        sys.stderr.write(f"Cannot read {audit_table} / {main_table}: {error}\n")
        return 2
    sys.stdout.write(f"Audit log {audit_table}: {verdict.summary()}\n")
    return 0 if verdict.intact else 1


if __name__ == "__main__":
    sys.exit(main())
