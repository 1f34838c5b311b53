"""Publish access events (granted, revoked, ended) on the EventBridge bus provisioning reads."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.models import AccessEvent
from .ses import DeliveryFailed

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

SOURCE = "sesame"
# Errors no retry will cure (a missing bus, a malformed entry): the entry is marked failed.
PERMANENT_ERRORS = frozenset({"ResourceNotFoundException", "ValidationException"})


def publish(client: EventBridgeClient, bus: str, event: AccessEvent, at: datetime) -> str:
    """Put one event on the bus; return its id, or raise DeliveryFailed."""
    entry = {
        "Source": SOURCE,
        "DetailType": event.detail_type,
        "Detail": json.dumps(event.detail(), ensure_ascii=False),
        "EventBusName": bus,
        "Time": at,
        "Resources": [],
    }
    try:
        response = client.put_events(Entries=[entry])  # type: ignore[list-item]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "ClientError")
        raise DeliveryFailed(code, permanent=code in PERMANENT_ERRORS) from error
    except BotoCoreError as error:  # timeouts, connection errors: worth retrying
        raise DeliveryFailed(type(error).__name__, permanent=False) from error
    result = response["Entries"][0]
    if "EventId" not in result:
        # PutEvents reports a refused entry in the response, not as an exception.
        code = result.get("ErrorCode", "PutEventsFailed")
        raise DeliveryFailed(code, permanent=code in PERMANENT_ERRORS)
    return result["EventId"]
