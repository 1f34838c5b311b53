"""Key formats of the main and audit tables (see docs/data-model.md)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..domain.models import AccessRequest, RequestStatus

# Partitions of the sparse indexes that list one kind of item (docs/data-model.md).
OUTBOX_PENDING = "OUTBOX#pending"  # PendingOutbox: what still has to be delivered
OUTBOX_FAILED = "OUTBOX#failed"  # PendingOutbox: deliveries that failed for good
ENFORCEMENT_FAILED = "ENFORCEMENT#failed"  # PendingOutbox: grants a group change never reached
DUE = "DUE"  # DueRequests: requests a scheduled job must look at
ALL_REQUESTS = "REQUESTS"  # AllRequests
GRANTS = "GRANTS"  # Grants: approved requests by end of access
# Sorts after any id in "<instant>#<id>" sort keys, so "<= now#~" includes all of `now`.
AFTER_ANY_ID = "~"

Key = dict[str, dict[str, str]]  # an item's PK and SK
Attributes = dict[str, dict[str, str]]  # index attributes an item is written with


# Partition prefixes: a partition is `<prefix>#<id>` (see `partition`).
REQUEST = "REQUEST"  # a request (main table); its events (audit table's ByRequest)
REQUESTER = "REQUESTER"  # ByRequester: a requester's requests
STATUS = "STATUS"  # ByStatus: the requests in one status
WAITING = "WAITING"  # WaitingSteps: steps waiting for a person or a role
ROLE = "ROLE"  # who a step handed to a role waits for, in WaitingSteps
ASSIGN = "ASSIGN"  # the steps waiting for one approver
DELEGATION = "DELEGATION"  # one approver's delegations
ACTOR = "ACTOR"  # ByActor: the audit events of one actor
ACTION = "ACTION"  # ByAction: the audit events of one action
ENFORCEMENT = "ENFORCEMENT"  # a grant's state in each of its groups, sorted by GROUP
GROUP = "GROUP"  # the sort key prefix of one group's state, `GROUP#<group>#<email>`
LANGUAGE = "LANG"  # the attribute prefix of one person's chosen language


def partition(prefix: str, value: str) -> str:
    """Partition (or index partition) of one thing: `<prefix>#<value>`."""
    return f"{prefix}#{value}"


def sorted_by(moment: str, item_id: str) -> str:
    """Index sort key "<instant>#<id>": sorts by time, ties broken by id."""
    return f"{moment}#{item_id}"


def item_key(pk: str, sk: str) -> Key:
    """Key of an item of either table: its partition and sort key."""
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def own_partition_key(kind: str, value: str) -> Key:
    """Key of an item alone in its partition: `<kind>#<value>`, sorted under `<kind>`."""
    return item_key(partition(kind, value), kind)


def _hour(at: datetime) -> str:
    """Sort key of a counter of one clock hour (UTC)."""
    return f"HOUR#{at:%Y-%m-%dT%H}"


# Items alone in their partition: a request, a link token (by the token's SHA-256), an outbox entry.
request_key: Callable[[str], Key] = functools.partial(own_partition_key, REQUEST)
link_key: Callable[[str], Key] = functools.partial(own_partition_key, "LINK")
outbox_key: Callable[[str], Key] = functools.partial(own_partition_key, "OUTBOX")


def reference_key(reference: str) -> Key:
    """Key of the item that turns a request's 8-character reference into its id."""
    return own_partition_key("REF", reference.upper())


def due_attributes(due: datetime, request_id: str) -> Attributes:
    """DueRequests index attributes of a request a scheduled job must look at by `due`."""
    return {"GSI7PK": {"S": DUE}, "GSI7SK": {"S": sorted_by(stamp(due), request_id)}}


def requester_index(email: str, created_at: datetime, request_id: str) -> Attributes:
    """Index attributes listing a requester's requests, newest last."""
    return {
        "GSI1PK": {"S": partition(REQUESTER, email)},
        "GSI1SK": {"S": sorted_by(created_at.isoformat(), request_id)},
    }


def open_requests_key(person: str) -> Key:
    """Key of the counter of a requester's open requests."""
    return item_key(f"LIMIT#{person}", "OPEN")


def hourly_submissions_key(person: str, at: datetime) -> Key:
    """Key of the counter of a requester's submissions in one clock hour (UTC)."""
    return item_key(f"LIMIT#{person}", _hour(at))


def invalid_links_key(source: str, at: datetime) -> Key:
    """Key of the counter of unknown or forged links tried from one source in one hour."""
    return item_key(f"BADLINK#{source or 'unknown'}", _hour(at))


def source_counter_key(kind: str, source: str, at: datetime) -> Key:
    """Key of a per-source counter of one kind (refused attempts, sign-ins...) in one hour."""
    return item_key(f"RATE#{kind}#{source or 'unknown'}", _hour(at))


def signin_address_key(person: str, at: datetime) -> Key:
    """Key of the counter of sign-in e-mails asked for one address in one hour."""
    return item_key(f"LIMIT#{person}", f"SIGNIN#{at:%Y-%m-%dT%H}")


def assignment_key(person: str, request_id: str, step: int) -> Key:
    """Key of "this step waits for this approver" (a Query lists an approver's pending steps)."""
    return item_key(partition(ASSIGN, person), f"{request_id}#{step:02d}")


def delegation_key(person: str, starts: str, delegation_id: str) -> Key:
    """Key of a delegation (a Query lists an approver's delegations)."""
    return item_key(partition(DELEGATION, person), sorted_by(starts, delegation_id))


# The one item holding every delegation not over yet, and the one holding each person's
# chosen language (one attribute each).
delegations_in_force_key: Callable[[], Key] = functools.partial(item_key, "DELEGATIONS", "IN_FORCE")
language_choices_key: Callable[[], Key] = functools.partial(item_key, "LANGUAGES", "CHOSEN")


def language_attribute(person: str) -> str:
    """The attribute of one person in the language choices item."""
    return partition(LANGUAGE, person.strip().lower())


def delegation_attribute(delegation_id: str) -> str:
    """Name of a delegation's attribute in the in-force item."""
    return f"D_{delegation_id}"


# ----- audit chain (see docs/audit.md) ------------------------------------------------------
def stamp(moment: datetime) -> str:
    """Fixed-width UTC time used in index sort keys (sorts as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain_partition(chain: str) -> str:
    """Partition key of a chain's events in the audit table."""
    return f"CHAIN#{chain}"


def audit_event_key(chain: str, seq: int) -> Key:
    """Key of the audit event at one position of a chain."""
    return item_key(chain_partition(chain), f"SEQ#{seq:012d}")


def seq_of(sort_key: str) -> int | None:
    """Read the position back from an audit event's sort key (None if it is not one)."""
    prefix, _, digits = sort_key.partition("#")
    if prefix != "SEQ" or len(digits) != 12 or not digits.isdigit():
        return None
    return int(digits)


def audit_event_index(
    seq: int, at: datetime, action: str, actor: str, request_id: str | None
) -> Attributes:
    """Index attributes of an audit event: by request, actor, action; all sorted by time."""
    attributes = {
        "GSISK": {"S": f"{stamp(at)}#{seq:012d}"},
        "GSI2PK": {"S": partition(ACTOR, actor)},
        "GSI3PK": {"S": partition(ACTION, action)},
        "action": {"S": action},
        "actor": {"S": actor},
        "at": {"S": stamp(at)},
    }
    if request_id:
        attributes["GSI1PK"] = {"S": partition(REQUEST, request_id)}
        attributes["request_id"] = {"S": request_id}
    return attributes


def audit_head_key(chain: str) -> Key:
    """Key of a chain's head (last position and hash), kept in the main table."""
    return item_key(f"AUDIT#{chain}", "HEAD")


# ----- console listings ---------------------------------------------------------------------
def request_listing(request: AccessRequest) -> dict[str, dict[str, Any]]:
    """Attributes and index keys that list a request by status, all, waiting step, grant."""
    content = request.content
    attributes: dict[str, dict[str, Any]] = {
        "GSI3PK": {"S": partition(STATUS, request.status.value)},
        "GSI4PK": {"S": ALL_REQUESTS},
        "requester": {"S": content.email},
        "platforms": {"SS": sorted(set(content.platforms))},
        "level": {"S": content.level},
        "organisation": {"S": content.organization.casefold()},
        "created_at": {"S": request.created_at.isoformat()},
    }
    index = request.current_step_index()
    if request.status == RequestStatus.PENDING_APPROVAL and index is not None:
        step = request.steps[index]
        opened = request.confirmed_at if index == 0 else request.steps[index - 1].decided_at
        opened = opened or request.created_at
        # A step handed over (escalated) waits for its fallback role from then on.
        role = step.escalated_to or step.role
        who = step.approvers[0] if role == "manager" else partition(ROLE, role)
        attributes["GSI5PK"] = {"S": partition(WAITING, who)}
        attributes["GSI5SK"] = {"S": sorted_by(opened.isoformat(), request.id)}
    if request.status == RequestStatus.APPROVED and request.access_until is not None:
        attributes["GSI6PK"] = {"S": GRANTS}
        attributes["GSI6SK"] = {"S": sorted_by(request.access_until.isoformat(), request.id)}
    return attributes


# ----- sign-in and sessions -----------------------------------------------------------------
# A sign-in link by the token's SHA-256; a session by the SHA-256 of the cookie's value; the
# marker saying a policy version was seen (its first use is audited).
signin_key: Callable[[str], Key] = functools.partial(own_partition_key, "SIGNIN")
session_key: Callable[[str], Key] = functools.partial(own_partition_key, "SESSION")
policy_seen_key: Callable[[str], Key] = functools.partial(own_partition_key, "POLICY")


# ----- enforcement (issue 16) ---------------------------------------------------------------
def access_state_key(request_id: str, group: str, email: str) -> Key:
    """Key of whether one grant's change reached one group (a Query lists a grant's groups)."""
    return item_key(partition(ENFORCEMENT, request_id), partition(GROUP, f"{group}#{email}"))


def failed_enforcement_index(failed_at: datetime, request_id: str) -> dict[str, Any]:
    """Index attributes listing a lasting enforcement failure beside failed e-mails (GSI2)."""
    return {
        "GSI2PK": {"S": ENFORCEMENT_FAILED},
        "GSI2SK": {"S": f"{stamp(failed_at)}#{request_id}"},
    }


def api_client_key(client_id: str) -> Key:
    """Key of a machine client of the grants API; all clients share one partition (a few)."""
    return item_key("APICLIENTS", f"CLIENT#{client_id}")


def api_rate_key(client_id: str, at: datetime) -> Key:
    """Key of the counter of one API client's calls in one clock minute (UTC)."""
    return item_key(f"RATE#API#{client_id}", f"MINUTE#{at:%Y-%m-%dT%H:%M}")


# ----- sign-in with the organisation's provider (issue 15) ----------------------------------
# A sign-in sent to the provider, by the SHA-256 of the browser's attempt cookie.
provider_signin_key: Callable[[str], Key] = functools.partial(own_partition_key, "OIDC")


# ----- trust: awareness passes and usage-policy acknowledgements (issue 17) -------------------
def awareness_key(person: str) -> Key:
    """Key of a person's latest awareness pass (overwritten by each new pass)."""
    return item_key(f"PERSON#{person}", "AWARENESS")


def awareness_pass_key(person: str, at: datetime) -> Key:
    """Key of one awareness pass kept for the figures (one item per pass)."""
    return item_key(f"PERSON#{person}", f"AWARENESS#{stamp(at)}")


def awareness_pass_index(person: str, at: datetime) -> Attributes:
    """ByRequester-index attributes listing every pass by time (open figures count them)."""
    return {"GSI1PK": {"S": "AWARENESS_PASSES"}, "GSI1SK": {"S": f"{stamp(at)}#{person}"}}


def acknowledgement_key(person: str, policy_version: str) -> Key:
    """Key of a person's acknowledgement of one usage-policy version."""
    return item_key(f"PERSON#{person}", f"ACK#{policy_version}")


# The usage-policy campaign of one version (when it started, whether it closed).
campaign_key: Callable[[str], Key] = functools.partial(own_partition_key, "CAMPAIGN")
