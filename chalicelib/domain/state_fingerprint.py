"""The fingerprint of a request's state, carried by every audit event that changed it.

The hash covers what decides access (status, version, each step and its decision, the grant's
confirmation, end and revocation, and once set its review's question and Keep), read from the
stored item itself: a direct `UpdateItem` that approves a request or pushes its end date
changes it, so verification can name the request whose item no longer matches its last event.
Pure: it reads the item's attributes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

FINGERPRINT_VERSION = "sesame-state-1"
_STEP_FIELDS = ("role", "approvers", "status", "decided_by", "decided_at", "via", "on_behalf_of")
_REQUEST_FIELDS = (
    "id", "version", "status", "chain", "confirmed_at", "access_until", "revoked_at",
    "revoked_by", "withdrawn_at", "expired_at", "ended_at", "renews",
)  # fmt: skip
# Covered once set (issue 17's recertification decides whether a grant goes on): an item
# written before they existed keeps the fingerprint its events carry.
_SET_ONLY_FIELDS = ("review_asked_at", "review_kept_at")


def request_fingerprint(item: Mapping[str, Any]) -> str:
    """Return the SHA-256 of the fields that matter in a stored request item (DynamoDB form).

    The item's own `status` and `version` attributes (what the indexes and conditions read)
    are covered beside the body, so changing either one alone shows too.
    """
    try:
        body = json.loads(item["body"]["S"])
    except (KeyError, TypeError, ValueError):
        body = {"unreadable": True}
    if not isinstance(body, dict):
        body = {"unreadable": True}
    found = body.get("steps")
    steps: list[Any] = found if isinstance(found, list) else []
    material = {
        "v": FINGERPRINT_VERSION,
        "item_status": item.get("status", {}).get("S"),
        "item_version": item.get("version", {}).get("N"),
        "request": {
            **{name: body.get(name) for name in _REQUEST_FIELDS},
            **{name: body[name] for name in _SET_ONLY_FIELDS if body.get(name) is not None},
        },
        "steps": [
            {name: step.get(name) for name in _STEP_FIELDS} if isinstance(step, dict) else step
            for step in steps
        ],
    }
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
