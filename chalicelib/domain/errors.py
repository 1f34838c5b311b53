"""Errors the business rules raise; they carry no HTTP status (the web layer maps them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar


class DomainError(Exception):
    """Base class of every error the use cases may raise on purpose."""


class InvalidTransition(DomainError):
    """The request is not in a state that allows this action."""


class AlreadyDecided(DomainError):
    """The step was decided already; says by whom and when."""

    def __init__(self, decided_by: str, decided_at: datetime, outcome: str) -> None:
        super().__init__(f"already {outcome}")
        self.decided_by = decided_by
        self.decided_at = decided_at
        self.outcome = outcome


class _OneDetail(DomainError):
    """An error that says one thing, its message, kept under the attribute its class names.

    `class NoApprover(_OneDetail, detail="role")` gives `NoApprover("security").role`.
    """

    _detail_name: ClassVar[str]

    def __init_subclass__(cls, detail: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if detail is not None:  # a subclass of a subclass keeps its parent's attribute
            cls._detail_name = detail

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        setattr(self, self._detail_name, detail)


class InvalidDecision(_OneDetail, detail="code"):
    """The decision itself is malformed (e.g. a refusal without a comment)."""

    code: str


class NotAnApprover(_OneDetail, detail="reason"):
    """The person may not decide this step; `reason` says which duty rule refused them."""

    reason: str


class NoApprover(_OneDetail, detail="role"):
    """A step of the chain has nobody left who may decide it (after the duty rules)."""

    role: str


class LimitReached(_OneDetail, detail="limit"):
    """A per-address limit of the policy is reached; nothing was stored or sent."""

    limit: str


class Delegated(DomainError):
    """The approver handed their steps to a deputy for now."""

    def __init__(self, deputy: str, until: date) -> None:
        super().__init__(deputy)
        self.deputy = deputy
        self.until = until


class Conflict(DomainError):
    """Someone else changed the same thing first; nothing was written."""


class NotFound(DomainError):
    """The thing asked for does not exist (or the token is unknown)."""


class LinkExpired(DomainError):
    """The e-mail link is past its expiry."""


class LinkStale(DomainError):
    """The request changed after the link was sent."""


class ServiceUnavailable(DomainError):
    """A dependency is throttling or failing; the caller may retry later."""


class InvalidPolicy(DomainError):
    """A policy file is broken; names the file, the field and the reason."""

    def __init__(self, file: str, field: str, reason: str) -> None:
        super().__init__(f"{file}: {field}: {reason}")
        self.file = file
        self.field = field
        self.reason = reason


class LinkUsed(DomainError):
    """The one-time link was used already."""


class Withdrawn(DomainError):
    """The requester withdrew the request: its links no longer do anything."""


class RequestExpired(DomainError):
    """Nobody decided the request in time: its links no longer do anything."""


class Escalated(_OneDetail, detail="role"):
    """The step waited too long and was handed to others; this approver's link is closed."""

    role: str
