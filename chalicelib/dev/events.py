"""Read back the access events the local emulator's bus received (local stage only).

The local stack routes every `sesame` event on the bus to a CloudWatch Logs group (an
EventBridge rule, as an operator could in AWS); this reads that group back.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3


def events_log_group(bus: str) -> str:
    """Return the log group the local stack's rule sends a bus's events to."""
    return f"/sesame/events/{bus}"


def published_events(bus: str) -> list[dict[str, Any]]:
    """Return the events received on the bus, oldest first: detail_type, detail and time."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "ca-central-1"
    logs: Any = boto3.client("logs", region_name=region)
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": events_log_group(bus)}
    try:
        while True:
            page = logs.filter_log_events(**kwargs)
            for record in page.get("events", []):
                event = json.loads(record["message"])
                found.append(
                    {
                        "detail_type": event.get("detail-type"),
                        "detail": event.get("detail"),
                        "time": event.get("time"),
                    }
                )
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return sorted(found, key=lambda e: str(e["time"]))
