"""Create the tables from infra/template.json (what deployment merges) and verify the sender."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TABLES_TEMPLATE = PROJECT_ROOT / "infra" / "template.json"
# Logical id in the template -> settings key of its name.
TABLE_IDS = {"MainTable": "main", "AuditTable": "audit"}


def table_definitions(template: Path = TABLES_TEMPLATE) -> dict[str, dict[str, Any]]:
    """Return CreateTable arguments per logical table, read from the CloudFormation template."""
    resources = json.loads(template.read_text(encoding="utf-8"))["Resources"]
    definitions: dict[str, dict[str, Any]] = {}
    for logical_id, role in TABLE_IDS.items():
        props = resources[logical_id]["Properties"]
        definitions[role] = {
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props["BillingMode"],
            **(
                {"GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"]}
                if props.get("GlobalSecondaryIndexes")
                else {}
            ),
        }
    return definitions


def create_tables(dynamodb: Any, names: dict[str, str]) -> None:
    """Create each table that does not exist yet (names: {"main": ..., "audit": ...})."""
    existing = set(dynamodb.list_tables().get("TableNames", []))
    for role, definition in table_definitions().items():
        name = names[role]
        if name not in existing:
            dynamodb.create_table(TableName=name, **definition)
            dynamodb.get_waiter("table_exists").wait(TableName=name)
        else:
            _add_missing_indexes(dynamodb, name, definition)


def _add_missing_indexes(dynamodb: Any, name: str, definition: dict[str, Any]) -> None:
    """Give a table kept under .local/ the indexes a newer template added (no data lost)."""
    table = dynamodb.describe_table(TableName=name)["Table"]
    present = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    for index in definition.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in present:
            continue
        used = {key["AttributeName"] for key in index["KeySchema"]}
        dynamodb.update_table(
            TableName=name,
            AttributeDefinitions=[
                a for a in definition["AttributeDefinitions"] if a["AttributeName"] in used
            ],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )


def verify_sender(ses: Any, sender: str) -> None:
    """Verify the sender identity (SES refuses to send from an unverified one)."""
    ses.verify_email_identity(EmailAddress=sender)


def create_event_bus(events: Any, logs: Any, bus: str) -> None:
    """Create the access-events bus and route its events to a log group /dev/events reads."""
    from chalicelib.dev.events import events_log_group

    if bus not in {b["Name"] for b in events.list_event_buses().get("EventBuses", [])}:
        events.create_event_bus(Name=bus)
    group = events_log_group(bus)
    if not logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups"):
        logs.create_log_group(logGroupName=group)
    arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"].removesuffix(
        ":*"
    )
    events.put_rule(
        Name="sesame-dev-events", EventBusName=bus, EventPattern='{"source": ["sesame"]}'
    )
    events.put_targets(
        Rule="sesame-dev-events", EventBusName=bus, Targets=[{"Id": "dev-log", "Arn": arn}]
    )


def create_digest_anchor(kms: Any, s3: Any, bucket: str, alias: str, retention_days: int) -> str:
    """Create the digest key (RSA_2048, SIGN_VERIFY) and its write-once bucket; return the key.

    The bucket is versioned by Object Lock, with a default COMPLIANCE retention (in AWS the
    template sets it, 7 years by default) and public access blocked, as deployed.
    """
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    key_id = aliases.get(alias)
    if not key_id:
        key_id = kms.create_key(
            KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY", Description="Sesame audit digests"
        )["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        region = s3.meta.region_name
        location = {} if region == "us-east-1" else {"LocationConstraint": region}
        s3.create_bucket(
            Bucket=bucket, ObjectLockEnabledForBucket=True, CreateBucketConfiguration=location
        )
        s3.put_object_lock_configuration(
            Bucket=bucket,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": retention_days}},
            },
        )
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    return str(key_id)
