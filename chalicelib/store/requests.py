"""Requests and their "waits for" items; `RequestStore` is the use cases' persistence port.

It gathers the stores of every aggregate over one client: links (links.py), outbox entries
(outbox.py) and delegations (delegations.py) are its bases; the audit log, sessions, console
listings and rate counters are its attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ..domain.errors import Conflict, LimitReached
from ..domain.models import (
    AccessRequest,
    AuditEvent,
    Lang,
    LinkToken,
    OutboxEntry,
    RequestStatus,
    StepStatus,
)
from ..domain.people import person_key
from ..domain.policy import Limits
from . import keys
from .audit import AuditLog, HeadRead
from .console import ConsoleQueries
from .delegations import DelegationStore
from .dynamo import Item
from .lang_choices import lang_choice_write
from .limits import RateCounters, limit_update, open_request_closed
from .sessions import SessionStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OPEN_STATUSES = (RequestStatus.PENDING_CONFIRMATION, RequestStatus.PENDING_APPROVAL)


def _waiting_for(request: AccessRequest, index: int) -> list[str]:
    """Who a step waits for: nobody once the request is closed (withdrawn, expired)."""
    step = request.steps[index]
    if request.status != RequestStatus.PENDING_APPROVAL or step.status != StepStatus.PENDING:
        return []
    return [person_key(approver) for approver in step.approvers]


class RequestStore(DelegationStore):
    """The persistence port of the use cases, backed by the main and audit tables."""

    def __init__(
        self,
        client: DynamoDBClient,
        main_table: str,
        audit_table: str,
        next_due: Callable[[AccessRequest], datetime | None] | None = None,
    ) -> None:
        super().__init__(client, main_table)
        self._audit = audit_table
        # When the scheduled jobs must look at a request next (domain/timers.py), kept in the
        # sparse DueRequests index on every write of the request.
        self._next_due = next_due
        self.audit = AuditLog(client, main_table, audit_table)
        self.sessions = SessionStore(client, main_table, self.audit)
        self.console = ConsoleQueries(client, main_table)
        self.limits = RateCounters(client, main_table)

    # ----- items -------------------------------------------------------------------------
    def _request_put(self, request: AccessRequest, condition: str, values: Item) -> Item:
        item: Item = {
            **keys.request_key(request.id),
            **keys.requester_index(request.content.email, request.created_at, request.id),
            **keys.request_listing(request),
            "version": {"N": str(request.version)},
            "status": {"S": request.status.value},
            "body": {"S": request.model_dump_json()},
        }
        due = self._next_due(request) if self._next_due else None
        if due is not None:
            item.update(keys.due_attributes(due, request.id))
        put: Item = {"TableName": self._main, "Item": item, "ConditionExpression": condition}
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def _assignment_changes(self, before: AccessRequest | None, after: AccessRequest) -> list[Item]:
        """Put "waits for" items for steps that opened, delete them for steps that closed."""
        items: list[Item] = []
        for index in range(len(after.steps)):
            waited = set(_waiting_for(before, index)) if before else set()
            waits = set(_waiting_for(after, index))
            for person in sorted(waits - waited):
                key = keys.assignment_key(person, after.id, index)
                item = {**key, "request_id": {"S": after.id}, "step": {"N": str(index)}}
                items.append({"Put": {"TableName": self._main, "Item": item}})
            for person in sorted(waited - waits):
                key = keys.assignment_key(person, after.id, index)
                items.append({"Delete": {"TableName": self._main, "Key": key}})
        return items

    # ----- commands ----------------------------------------------------------------------
    def create_request(
        self,
        request: AccessRequest,
        event: AuditEvent,
        tokens: Sequence[LinkToken],
        outbox: Sequence[OutboxEntry],
        limits: Limits,
        source: str = "",
    ) -> None:
        """Store a new request with its first audit event, links and e-mails, all or nothing.

        The requester's open-request and hourly counters, and the hourly counter of the source
        IP, rise in the same transaction, each conditioned on the policy's limit: over a limit
        nothing is written (LimitReached: "open", "hourly" or "source").
        """
        person = person_key(request.content.email)
        hour_ttl = int(request.created_at.timestamp()) + 2 * 3600
        counters = {
            "open": limit_update(
                self._main,
                keys.open_requests_key(person),
                "open_count",
                limits.max_open_requests,
                None,
            ),
            "hourly": limit_update(
                self._main,
                keys.hourly_submissions_key(person, request.created_at),
                "submissions",
                limits.max_submissions_per_hour,
                hour_ttl,
            ),
            "source": limit_update(
                self._main,
                keys.source_counter_key("SUBMIT", source, request.created_at),
                "submissions",
                limits.max_submissions_per_source_per_hour,
                hour_ttl,
            ),
        }
        # The reference lookup (the grants API's GET /api/v1/requests/{reference}) has no
        # condition: it can never refuse the filing, and the counters stay last (see below).
        reference = {**keys.reference_key(request.reference), "request_id": {"S": request.id}}
        items = [
            self._request_put(request, "attribute_not_exists(PK)", {}),
            {"Put": {"TableName": self._main, "Item": reference}},
            *(self._token_put(t) for t in tokens),
            *(self._outbox_put(o) for o in outbox),
            *counters.values(),
        ]
        try:
            self.audit.append(event, items)
        except Conflict as conflict:
            # Which of our own items was refused: the request (a resubmission) or a limit.
            cause = conflict.__cause__
            reasons = (
                [r.get("Code", "") for r in cause.response.get("CancellationReasons", [])]
                if isinstance(cause, ClientError)
                else []
            )
            if (
                reasons[:1] != ["ConditionalCheckFailed"]
                and "ConditionalCheckFailed" in reasons[: len(items)]
            ):
                failed = reasons.index("ConditionalCheckFailed") - (len(items) - len(counters))
                if 0 <= failed < len(counters):
                    raise LimitReached(list(counters)[failed]) from conflict
            raise
        self.audit.note_policy_version(request.content.policy_version, request.created_at)

    def apply_transition(
        self,
        previous: AccessRequest,
        request: AccessRequest,
        event: AuditEvent,
        burnt: LinkToken | None,
        now: datetime,
        tokens: Sequence[LinkToken] = (),
        outbox: Sequence[OutboxEntry] = (),
        head: HeadRead | None = None,
        extra: Sequence[Item] = (),
    ) -> None:
        """Write a state change as one transaction, conditioned on the version that was read.

        `burnt` is the e-mail link used, if any (a decision in the console burns none);
        `head` is the audit chain's head if it was read with the request; `extra` are more
        transaction items of the same change (a person's language choice).
        """
        items = [
            *self._assignment_changes(previous, request),
            self._request_put(
                request, "version = :previous", {":previous": {"N": str(previous.version)}}
            ),
            *([self._token_burn(burnt, now)] if burnt else []),
            *(self._token_put(t) for t in tokens),
            *(self._outbox_put(o) for o in outbox),
            *extra,
        ]
        if previous.status in OPEN_STATUSES and request.status not in OPEN_STATUSES:
            # A decided or withdrawn request no longer counts against the open-request limit.
            key = keys.open_requests_key(person_key(request.content.email))
            items.append(open_request_closed(self._main, key))
        self.audit.append(event, items, head=head)

    def lang_choice(self, person: str, lang: Lang) -> Item:
        """The transaction item recording a person's chosen language (for `extra`)."""
        return lang_choice_write(self._main, person, lang)

    def add_links(self, tokens: Sequence[LinkToken], outbox: Sequence[OutboxEntry]) -> None:
        """Store links and the e-mails that carry them, together (a step handed to a deputy)."""
        self._transact(
            [*(self._token_put(t) for t in tokens), *(self._outbox_put(o) for o in outbox)]
        )

    def refresh_due(self, request: AccessRequest) -> None:
        """Store a request's due date again (after a policy change), if it did not change."""
        due = self._next_due(request) if self._next_due else None
        update = "SET GSI7PK = :due, GSI7SK = :when" if due is not None else "REMOVE GSI7PK, GSI7SK"
        values: Item = {":version": {"N": str(request.version)}}
        if due is not None:
            attributes = keys.due_attributes(due, request.id)
            values[":due"], values[":when"] = attributes["GSI7PK"], attributes["GSI7SK"]
        # False: changed meanwhile, and that write stored a fresh due date.
        self._conditional_update(
            Key=keys.request_key(request.id),
            UpdateExpression=update,
            ConditionExpression="version = :version",
            ExpressionAttributeValues=values,
        )

    # ----- queries -----------------------------------------------------------------------
    def load_request(self, request_id: str) -> AccessRequest | None:
        """Return a request by id, or None."""
        item = self._get(keys.request_key(request_id))
        return AccessRequest.model_validate_json(item["body"]["S"]) if item else None

    def load_by_reference(self, reference: str) -> AccessRequest | None:
        """Return a request by its 8-character reference (two GetItems), or None."""
        found = self._get(keys.reference_key(reference))
        return self.load_request(found["request_id"]["S"]) if found else None

    def pending_steps_of(self, approver: str) -> list[tuple[str, int]]:
        """Return (request id, step) of every step waiting for an approver (one Query)."""
        items = self._query_all(keys.partition(keys.ASSIGN, person_key(approver)))
        return [(i["request_id"]["S"], int(i["step"]["N"])) for i in items]

    def due_requests(
        self, now: datetime, limit: int, start: Item | None = None
    ) -> tuple[list[AccessRequest], Item | None]:
        """Return requests a scheduled job must look at by now, oldest due first, and the key
        of the next page (one Query; the index projects the whole item, so no further read).
        """
        items, next_key = self._due_page(
            "DueRequests", ("GSI7PK", "GSI7SK"), keys.DUE, keys.stamp(now), limit, start
        )
        return [AccessRequest.model_validate_json(i["body"]["S"]) for i in items], next_key

    def events_for(self, request_id: str) -> list[AuditEvent]:
        """Return a request's audit events in the order they happened."""
        return [chained.event for chained in self.audit.events_for_request(request_id)]
