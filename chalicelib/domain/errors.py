"""Errors the business rules raise; they carry no HTTP status (the web layer maps them)."""

from __future__ import annotations

from datetime import date, datetime


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


class InvalidDecision(DomainError):
    """The decision itself is malformed (e.g. a refusal without a comment)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class NotAnApprover(DomainError):
    """The person may not decide this step; `reason` says which duty rule refused them."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoApprover(DomainError):
    """A step of the chain has nobody left who may decide it (after the duty rules)."""

    def __init__(self, role: str) -> None:
        super().__init__(role)
        self.role = role


class LimitReached(DomainError):
    """A per-address limit of the policy is reached; nothing was stored or sent."""

    def __init__(self, limit: str) -> None:
        super().__init__(limit)
        self.limit = limit


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


class Escalated(DomainError):
    """The step waited too long and was handed to others; this approver's link is closed."""

    def __init__(self, role: str) -> None:
        super().__init__(role)
        self.role = role
