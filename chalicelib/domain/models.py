"""What Sésame stores: access requests, their approval steps, audit events and link tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from .awareness import Completion
from .identity import ProviderRef, VerifiedPerson

Lang = Literal["fr", "en"]
Decision = Literal["approve", "refuse"]
Via = Literal["link", "console"]


class RequestStatus(StrEnum):
    """Where a request stands."""

    PENDING_CONFIRMATION = "pending_confirmation"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REFUSED = "refused"
    REVOKED = "revoked"
    WITHDRAWN = "withdrawn"
    # Nobody decided within the policy's limit (a scheduled job closes it).
    EXPIRED = "expired"
    # An approved grant reached its end date.
    ENDED = "ended"


class StepStatus(StrEnum):
    """Where one approval step stands."""

    WAITING = "waiting"
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class LinkKind(StrEnum):
    """What an e-mail link lets its holder do."""

    CONFIRM = "confirm"
    DECIDE = "decide"
    STATUS = "status"
    # Opens the form pre-filled from an ending grant; the new request references the old one.
    RENEW = "renew"
    # Sent to an approver when a delegation is recorded in their name: cancels it.
    UNDELEGATE = "undelegate"


class _Model(BaseModel):
    # Validators are built on first use, not at import: a cold start serving the form never
    # builds those of requests, links, events and e-mails (issue 9).
    model_config = ConfigDict(extra="forbid", defer_build=True)


class RequestContent(_Model):
    """What the requester asked for: the part an approver decides on."""

    name: str = Field(min_length=1, max_length=120)
    email: str = Field(min_length=3, max_length=254)
    organization: str = Field(min_length=1, max_length=160)
    manager_email: str = Field(min_length=3, max_length=254)
    platforms: tuple[str, ...] = Field(min_length=1, max_length=20)
    purpose: str = Field(max_length=40)
    level: str = Field(max_length=40)
    justification: str = Field(min_length=1, max_length=10000)
    duration_days: int = Field(ge=1, le=730)
    policy_version: str = Field(max_length=40)


class Step(_Model):
    """One approval step: who may decide it and what was decided."""

    role: str = Field(max_length=40)
    approvers: tuple[str, ...] = Field(min_length=1)
    status: StepStatus = StepStatus.WAITING
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = Field(default=None, max_length=1000)
    via: Via | None = None
    on_behalf_of: str | None = None
    # When the step started waiting, and what the scheduled jobs did about the wait.
    opened_at: datetime | None = None
    reminders: int = 0
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    escalated_to: str | None = Field(default=None, max_length=40)
    escalated_from: tuple[str, ...] = ()


class AccessRequest(_Model):
    """A request for access, its approval chain and its outcome."""

    id: str = Field(pattern=r"^[a-z0-9]{8,40}$")
    version: int = Field(ge=1)
    status: RequestStatus
    lang: Lang
    created_at: datetime
    content: RequestContent
    chain: tuple[str, ...]
    steps: tuple[Step, ...]
    confirmed_at: datetime | None = None
    access_until: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revocation_reason: str | None = Field(default=None, max_length=1000)
    withdrawn_at: datetime | None = None
    expired_at: datetime | None = None
    ended_at: datetime | None = None
    ending_notice_at: datetime | None = None
    renews: str | None = Field(default=None, pattern=r"^[a-z0-9]{8,40}$")
    # Where the manager came from (issue 15): "directory" (verified), "typed" (shown to every
    # approver as "not verified by the directory"); None for requests filed before.
    manager_source: Literal["directory", "typed"] | None = None
    # Who the provider vouched for when the request was filed signed in (the grants API names
    # the person by it, issue 16); None when filed signed out (the address is then the key).
    requester_identity: ProviderRef | None = None
    # Issue 17: the requester's awareness pass when filed (approvers see version, score,
    # date), and whether it shortened the chain (the security step is then a notice).
    trained_pass: Completion | None = None
    trained_path: bool = False
    # Issue 17: a pass taken without a sign-in rides the form to the request; it becomes the
    # person's pass only when this request's confirmation link proves the address.
    unconfirmed_pass: Completion | None = None
    # Issue 17: the usage-policy campaign as it concerns this grant (version asked, how
    # many e-mails were sent, when it was flagged to the officers).
    ack_asked_version: str | None = Field(default=None, max_length=40)
    ack_emails: int = 0
    ack_flagged_at: datetime | None = None
    # Issue 17: the manager confirms the grant is still needed every this many days (copied
    # from the route when filed, like the chain); the recertification job is not built yet.
    review_every_days: int | None = None

    @property
    def reference(self) -> str:
        """Return the short number people quote (the first 8 characters of the id)."""
        return self.id[:8].upper()

    def current_step_index(self) -> int | None:
        """Return the index of the step waiting for a decision, if any."""
        for index, step in enumerate(self.steps):
            if step.status == StepStatus.PENDING:
                return index
        return None


# Every action the audit log records; the console's filter offers each (AUDIT_ACTIONS).
AuditAction = Literal[
    "submitted", "confirmed", "approved", "refused", "refused_attempt", "delegated",
    "link_limit", "revoked", "withdrawn", "link_opened", "signed_in", "signed_out",
    "exported", "policy_version_seen", "reminded", "escalated", "expired",
    "ending_notice", "ended", "delivery_retried", "delegation_cancelled",
    # Enforcement and the grants API (issue 16).
    "access_applied", "access_failed", "access_repaired", "api_read",
    "api_client_created", "api_client_revoked", "reconciliation_requested",
    # Sign-in with the organisation's provider (issue 15).
    "signin_refused",
    # From control to trust (issue 17).
    "awareness_passed", "policy_acknowledged", "flagged",
    # The audit log's anchors (issue 18): an officer asked for a digest now.
    "digest_requested",
]  # fmt: skip
AUDIT_ACTIONS: tuple[AuditAction, ...] = get_args(AuditAction)
# "schedule": a scheduled job (reminders, escalation, expiry, end of a grant).
# "api": a machine client of the grants API.
AuditVia = Literal["form", "link", "console", "schedule", "api"]


class AuditEvent(_Model):
    """One thing that happened to a request: who, what, when, how and from where."""

    request_id: str | None
    event_id: str
    at: datetime
    action: AuditAction
    actor: str
    via: AuditVia
    reason: str | None = Field(default=None, max_length=200)
    step: int | None = None
    comment: str | None = None
    source_ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=512)
    # The request's fingerprint as this change left it (domain/state_fingerprint.py); set by
    # the audit log's append when the change writes the request, None otherwise.
    state: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    # Who the organisation's provider vouched for, on sign-ins and decisions (issue 15).
    identity: VerifiedPerson | None = None


class LinkToken(_Model):
    """What an e-mail link's token is bound to (stored under the token's SHA-256 only)."""

    token_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    kind: LinkKind
    request_id: str
    step: int | None = None
    approver: str | None = None
    on_behalf_of: str | None = None
    # The delegation an "undelegate" link cancels.
    delegation_id: str | None = None
    content_hash: str
    created_at: datetime
    expires_at: datetime | None = None
    used_at: datetime | None = None


class ClientInfo(_Model):
    """Where an action came from, for the audit log."""

    source_ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=512)


class OutboxMessage(_Model):
    """The rendered e-mail, kept with its outbox entry only until it is delivered."""

    subject: str
    text: str
    html: str
    lang: Lang


class AccessEvent(_Model):
    """What provisioning systems are told on the bus when access starts or stops."""

    detail_type: Literal["AccessGranted", "AccessRevoked", "AccessEnded"]
    request_id: str
    reference: str
    requester: str
    platforms: tuple[str, ...]
    level: str
    start: datetime
    end: datetime

    def detail(self) -> dict[str, object]:
        """Return the event's detail, as documented in docs/events.md."""
        return {
            "request_id": self.request_id,
            "reference": self.reference,
            "requester": self.requester,
            "platforms": list(self.platforms),
            "level": self.level,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


class OutboxEntry(_Model):
    """An e-mail or bus event a transition must cause, written in the same transaction."""

    id: str
    request_id: str
    template: str = Field(max_length=60)
    recipients: tuple[str, ...] = Field(min_length=1)
    created_at: datetime
    status: Literal["pending", "sent", "failed"] = "pending"
    attempts: int = 0
    message: OutboxMessage | None = None
    # Set for a bus event instead of an e-mail (template is then the detail type).
    event: AccessEvent | None = None
