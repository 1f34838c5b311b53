"""The audit log against its signed digests (moto's KMS and S3 Object Lock): what an intruder
with the app's own role, a database administrator or a restore does is detected and named.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator
from datetime import timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from chalice.test import Client

from chalicelib.dev import clock as dev_clock
from chalicelib.domain.audit_chain import link_hash
from chalicelib.domain.audit_digest import parse_digest
from chalicelib.domain.digest_check import AnchorVerdict
from chalicelib.domain.models import AuditEvent
from chalicelib.service.audit_integrity import check_integrity
from chalicelib.service.context import get_services
from chalicelib.service.digest import DigestDeps, digest_deps, write_digest, write_due_digests
from chalicelib.store import keys
from chalicelib.store.audit import AuditFilter
from local_stack.aws_setup import create_digest_anchor
from ops import verify_audit as audit_verify
from tests.integration.conftest import AUDIT, MAIN
from tests.integration.test_audit_log import audited_workflow, key, stored

pytestmark = pytest.mark.integration

BUCKET, ALIAS = "sesame-test-audit-digests", "alias/sesame-test-audit-digest"


@pytest.fixture
def deps(client: Client) -> Iterator[DigestDeps]:
    """The digest key and write-once bucket, and the stores over them."""
    create_digest_anchor(boto3.client("kms"), boto3.client("s3"), BUCKET, ALIAS, 1)
    yield digest_deps(MAIN, AUDIT, BUCKET, ALIAS)


def digest_now(deps: DigestDeps, hours: int = 0) -> None:
    write_digest(deps, get_services().clock() + timedelta(hours=hours))


def failure(deps: DigestDeps) -> tuple[str, str]:
    verdict = check_integrity(deps)
    assert verdict.failure is not None, verdict.summary()
    return verdict.failure.kind, verdict.failure.detail


def rewrite_from(seq: int, comment: str) -> None:
    """Rewrite event `seq` and recompute every later hash and the head: all the app's role can."""
    dynamodb = boto3.client("dynamodb")
    head = get_services().store.audit.head()
    assert head is not None
    item = stored(seq)
    previous = item["prev"]["S"]
    for n in range(seq, head.seq + 1):
        item = stored(n)
        body = item["body"]["S"]
        if n == seq:  # a comment put in someone's mouth; the indexed fields stay as they were
            event = AuditEvent.model_validate_json(body)
            body = event.model_copy(update={"comment": comment}).model_dump_json()
        digest = link_hash(n, previous, body)
        item.update(body={"S": body}, prev={"S": previous}, hash={"S": digest})
        dynamodb.put_item(TableName=AUDIT, Item=item)
        previous = digest
    dynamodb.update_item(
        TableName=MAIN,
        Key=keys.audit_head_key("main"),
        UpdateExpression="SET #h = :h",
        ExpressionAttributeNames={"#h": "hash"},
        ExpressionAttributeValues={":h": {"S": previous}},
    )


def the_request_id() -> str:
    (submitted,) = get_services().store.audit.all_matching(AuditFilter(action="submitted"))
    assert submitted.event.request_id is not None
    return submitted.event.request_id


@pytest.fixture
def workflow(client: Client, deps: DigestDeps) -> int:
    """A request through its whole approval, then a digest of the chain."""
    count = audited_workflow(client)
    digest_now(deps)
    return count


def test_an_untouched_log_reports_intact_with_its_digest_count(
    workflow: int, deps: DigestDeps, capsys: pytest.CaptureFixture[str]
) -> None:
    digest_now(deps, hours=1)
    verdict: AnchorVerdict = check_integrity(deps)
    assert verdict.intact and (verdict.events, verdict.digests) == (workflow, 2)
    assert audit_verify.main(["--stage", "test", "--digests"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"Audit log of test: intact: {workflow} events, 2 digests, ")
    assert "last digest at " in printed


def test_every_state_change_carries_the_request_fingerprint(workflow: int) -> None:
    events = get_services().store.audit.events_for_request(the_request_id())
    changes = [e for e in events if e.event.action in {"submitted", "confirmed", "approved"}]
    assert len(changes) == 4 and all(e.event.state for e in changes)
    assert len({e.event.state for e in changes}) == 4  # each change left another state


def test_an_event_rewritten_and_the_chain_recomputed_after_a_digest_is_named(
    workflow: int, deps: DigestDeps
) -> None:
    (confirmed,) = get_services().store.audit.all_matching(AuditFilter(action="confirmed"))
    rewrite_from(confirmed.seq, "approved by phone, no need to check")
    assert get_services().store.audit.verify().intact  # the chain alone cannot tell
    kind, detail = failure(deps)
    assert kind == "rewritten"
    assert detail.startswith(f"event {workflow} was rewritten after the digest of ")
    assert f"one of events 1 to {workflow} was changed" in detail


def test_a_request_updated_directly_in_the_table_is_named(workflow: int, deps: DigestDeps) -> None:
    request_id = the_request_id()
    item = boto3.client("dynamodb").get_item(TableName=MAIN, Key=keys.request_key(request_id))
    body = json.loads(item["Item"]["body"]["S"])
    body["access_until"] = "2036-12-31T00:00:00Z"  # the grant pushed by ten years
    boto3.client("dynamodb").update_item(
        TableName=MAIN,
        Key=keys.request_key(request_id),
        UpdateExpression="SET body = :b",
        ExpressionAttributeValues={":b": {"S": json.dumps(body)}},
    )
    assert get_services().store.audit.verify().intact
    kind, detail = failure(deps)
    assert kind == "request_changed"
    assert detail == (
        f"request {request_id[:8].upper()} differs from its last event: "
        "it was changed outside the app"
    )


def test_a_log_truncated_after_a_digest_is_named_a_restore_or_a_truncation(
    workflow: int, deps: DigestDeps
) -> None:
    dynamodb = boto3.client("dynamodb")
    for seq in (workflow, workflow - 1):
        dynamodb.delete_item(TableName=AUDIT, Key=key(seq))
    kept = stored(workflow - 2)
    dynamodb.update_item(  # the head put back to match: the chain alone looks intact
        TableName=MAIN,
        Key=keys.audit_head_key("main"),
        UpdateExpression="SET seq = :s, #h = :h",
        ExpressionAttributeNames={"#h": "hash"},
        ExpressionAttributeValues={":s": kept["seq"], ":h": kept["hash"]},
    )
    assert get_services().store.audit.verify().intact
    kind, detail = failure(deps)
    assert kind == "shortened"
    assert "the log is shorter than the digest of " in detail
    assert f"({workflow - 2} events, the digest saw {workflow})" in detail


def only_digest(deps: DigestDeps) -> str:
    (name,) = [d.name for d in deps.digests.all().digests]
    return name


def test_a_digest_cannot_be_deleted_and_trying_is_named(workflow: int, deps: DigestDeps) -> None:
    s3 = boto3.client("s3")
    name = only_digest(deps)
    (version,) = s3.list_object_versions(Bucket=BUCKET, Prefix=name)["Versions"]
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=BUCKET, Key=name, VersionId=version["VersionId"])
    s3.delete_object(Bucket=BUCKET, Key=name)  # only hides it behind a delete marker
    kind, detail = failure(deps)
    assert kind == "overwritten"
    assert detail.startswith(f"the digest {name} was overwritten or deleted")


def test_a_digest_overwritten_is_named_and_its_first_version_still_counts(
    workflow: int, deps: DigestDeps
) -> None:
    name = only_digest(deps)
    forged = {"payload": "{}", "signature": base64.b64encode(b"x" * 256).decode()}
    with pytest.raises(ClientError, match="PreconditionFailed"):
        boto3.client("s3").put_object(  # how the digest code writes: refused
            Bucket=BUCKET, Key=name, Body=json.dumps(forged).encode(), IfNoneMatch="*"
        )
    boto3.client("s3").put_object(Bucket=BUCKET, Key=name, Body=json.dumps(forged).encode())
    kind, _ = failure(deps)
    assert kind == "overwritten"


def test_a_forged_digest_fails_its_signature(workflow: int, deps: DigestDeps) -> None:
    kms = boto3.client("kms")
    other = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    forger = digest_deps(MAIN, AUDIT, BUCKET, other)
    digest_now(forger, hours=1)  # well formed and chained, signed with another key
    kind, detail = failure(deps)
    assert kind == "signature"
    assert detail.endswith("is not signed by the digest key: it was forged")


def test_moving_the_local_clock_five_hours_writes_five_chained_digests(
    workflow: int, deps: DigestDeps
) -> None:
    dev_clock.advance(5)
    written = write_due_digests(deps, dev_clock.now())
    assert len(written) == 5
    stored_digests = [parse_digest(d.payload) for d in deps.digests.all().digests]
    assert len(stored_digests) == 6
    gaps = [b.at - a.at for a, b in itertools.pairwise(stored_digests)]
    assert gaps == [timedelta(hours=1)] * 5
    assert write_due_digests(deps, dev_clock.now()) == []  # nothing more is due this hour
    verdict = check_integrity(deps)
    assert verdict.intact and verdict.digests == 6, verdict.summary()
