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


def verify_sender(ses: Any, sender: str) -> None:
    """Verify the sender identity (SES refuses to send from an unverified one)."""
    ses.verify_email_identity(EmailAddress=sender)
