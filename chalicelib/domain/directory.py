"""The organisation's directory as Sésame sees it: who a person is, who manages them, their groups.

Two ports: `Directory` reads people (the TOML file of `policies/` or LDAP), `GroupDirectory`
changes the members of the groups that open the platforms (LDAP only). The adapters live in
`chalicelib/adapters`; the use cases depend on these ports alone.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import DomainError

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Person(BaseModel):
    """A person as the directory knows them: address, name, manager and groups."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    email: str = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)
    display_name: str | None = Field(default=None, max_length=256)
    # None when the directory names no manager (or one it cannot resolve to an address).
    manager_email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)
    # Group identifiers as the directory names them: lower-case DNs in LDAP, role ids in TOML.
    groups: frozenset[str] = frozenset()

    @field_validator("email", "manager_email")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.strip().lower() if value is not None else None


class DirectoryError(DomainError):
    """The directory answered but refused or could not do what was asked; says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DirectoryUnavailable(DirectoryError):
    """The directory cannot be reached or refuses Sésame's bind; the caller may retry later."""


class Directory(Protocol):
    """Reads people: the source of managers, display names and role groups."""

    def find_person(self, email: str) -> Person | None:
        """Return the person with this address, or None when the directory does not know them."""
        ...


class GroupDirectory(Protocol):
    """Changes group members; every change is idempotent and says whether it changed anything."""

    def members(self, group: str) -> frozenset[str]:
        """Return the addresses of a group's members."""
        ...

    def add_member(self, group: str, email: str) -> bool:
        """Add a person to a group; False when they were a member already."""
        ...

    def remove_member(self, group: str, email: str) -> bool:
        """Remove a person from a group; False when they were not a member."""
        ...
