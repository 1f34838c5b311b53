"""AWS calls per use case, counted with botocore's event hooks and pinned exactly, so that a
regression in round trips fails `make test`. Not timed. The floor of issue 9 and why some
use cases sit above it: docs/performance.md ("AWS calls per use case")."""

from __future__ import annotations

import pytest
from chalice.test import Client

from bench.usecases import USE_CASES, calls_per_use_case

pytestmark = pytest.mark.integration

# A link (confirm, decide, status) is resolved with one BatchGetItem: the hourly counter of
# invalid links of the caller's address, the link, its request (the token names it) and, for
# a confirmation or decision link, the audit chain's head and the item of delegations in force
# (so neither the audit append nor a step that opens reads again). The submit's audit append
# reads the chain head (1 GetItem) before its TransactWriteItems. Each e-mail is one
# SendRawEmail (each bus event one PutEvents), then one UpdateItem marking its outbox entry sent.
PINNED: dict[str, dict[str, int]] = {
    "form page": {},
    "submit (first under a policy version)": {
        "GetItem": 3,
        "SendRawEmail": 1,
        "TransactWriteItems": 2,
        "UpdateItem": 1,
    },
    "submit": {"GetItem": 1, "SendRawEmail": 1, "TransactWriteItems": 1, "UpdateItem": 1},
    "confirm (page)": {"BatchGetItem": 1, "TransactWriteItems": 1},
    "confirm": {
        "BatchGetItem": 1,
        "SendRawEmail": 1,
        "TransactWriteItems": 1,
        "UpdateItem": 1,
    },
    "manager decision (page)": {"BatchGetItem": 1, "TransactWriteItems": 1},
    "manager decision": {  # two security officers are asked: two e-mails
        "BatchGetItem": 1,
        "SendRawEmail": 2,
        "TransactWriteItems": 1,
        "UpdateItem": 2,
    },
    "officer decision (page)": {"BatchGetItem": 1, "TransactWriteItems": 1},
    "officer decision": {  # the grant: one e-mail and one AccessGranted event on the bus
        "BatchGetItem": 1,
        "PutEvents": 1,
        "SendRawEmail": 1,
        "TransactWriteItems": 1,
        "UpdateItem": 2,
    },
    "status page": {"BatchGetItem": 1, "Query": 1},
    "console queue page": {"GetItem": 1, "Query": 1},  # the session, then the page
    "audit page": {"GetItem": 1, "Query": 1},
    # The first lifecycle run under a policy version starts its usage-policy campaign, finds
    # no grant filed under an older one, and closes it (docs/performance.md); later runs skip it.
    "reminder sweep (first under a policy version)": {
        "PutItem": 1,
        "Query": 2,
        "UpdateItem": 1,
    },
    "reminder sweep, nothing due": {"Query": 1},
}


def test_every_use_case_makes_exactly_the_pinned_aws_calls(client: Client) -> None:
    assert tuple(PINNED) == USE_CASES
    assert calls_per_use_case(client) == PINNED


def test_state_changes_write_once_and_send_one_call_per_email(client: Client) -> None:
    """The floor: one transaction and at most one read per state change, no Scan anywhere,
    one SES call per e-mail, one Query per console page."""
    found = calls_per_use_case(client)
    reads = ("GetItem", "BatchGetItem", "Query")
    for name in ("submit", "confirm", "manager decision", "officer decision"):
        assert found[name]["TransactWriteItems"] == 1, name
        assert sum(found[name].get(read, 0) for read in reads) <= 1, name
        # Each delivery (an e-mail, or an event on the bus) is marked sent once.
        deliveries = found[name]["SendRawEmail"] + found[name].get("PutEvents", 0)
        assert deliveries == found[name]["UpdateItem"], name
    for name in ("console queue page", "audit page", "reminder sweep, nothing due"):
        assert found[name].get("Query") == 1, name
    assert not any("Scan" in calls for calls in found.values())
