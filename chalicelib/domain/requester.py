"""Who manages a requester and which roles a person holds, from the directory (pure).

The directory (TOML or LDAP) is read by the service; these rules only decide what its answer
means: a manager the directory names is taken as verified, a typed one is kept but marked
"not verified", and a policy may refuse the latter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from .directory import Person
from .identity_policy import IdentityPolicy
from .people import same_person
from .policy import SECURITY, Policy

ManagerSource = Literal["directory", "typed"]
# Error codes are translation keys of the [identity] table (both languages).
MANAGER_NOT_IN_DIRECTORY = "identity.manager_not_in_directory"
DIRECTORY_UNAVAILABLE = "identity.directory_unavailable"
MANAGER_OUTSIDE_DOMAINS = "identity.manager_outside_domains"


def _any_address(_email: str) -> bool:
    return True


@dataclass(frozen=True)
class ManagerChoice:
    """The manager to use (None: the typed one), where it comes from, or why it is refused."""

    manager_email: str | None
    source: ManagerSource
    error: str | None = None


def choose_manager(
    person: Person | None,
    require_directory_manager: bool,
    address_allowed: Callable[[str], bool] = _any_address,
) -> ManagerChoice:
    """Take the directory's manager when it knows the requester; else the typed one, or refuse.

    - the directory knows the requester and names their manager at an allowed address: that
      manager, verified;
    - otherwise (unknown requester, no manager on their entry, or a manager whose address is
      outside the organisation's allowed domains, which would receive approval links): the
      typed manager, marked "typed" (shown as "not verified by the directory"), unless the
      policy's `require_directory_manager` refuses the request.
    """
    if person is not None and person.manager_email:
        if address_allowed(person.manager_email):
            return ManagerChoice(person.manager_email, "directory")
        if require_directory_manager:
            return ManagerChoice(None, "typed", MANAGER_OUTSIDE_DOMAINS)
        return ManagerChoice(None, "typed")
    if require_directory_manager:
        return ManagerChoice(None, "typed", MANAGER_NOT_IN_DIRECTORY)
    return ManagerChoice(None, "typed")


def roles_of(
    policy: Policy,
    email: str,
    *,
    session_roles: Iterable[str] = (),
    person: Person | None = None,
) -> frozenset[str]:
    """Return a person's Sésame roles: the policy's lists, the ID token's, the directory's.

    `session_roles` are the roles already mapped from the ID token at sign-in; `person` is
    the directory's answer (TOML groups are role ids, LDAP groups DNs mapped by the policy).
    """
    roles = set(session_roles) | directory_roles(policy, person)
    if any(same_person(email, officer) for officer in policy.officer_emails()):
        roles.add(SECURITY)
    roles.update(g.id for g in policy.rules.groups if any(same_person(email, m) for m in g.members))
    return frozenset(roles & _known_roles(policy))


def directory_roles(policy: Policy, person: Person | None) -> frozenset[str]:
    """Return the Sésame roles a directory entry's groups give (TOML: role ids; LDAP: DNs
    mapped by the policy's `[directory.groups]`); a role the policy does not define, none."""
    if person is None:
        return frozenset()
    identity: IdentityPolicy = policy.identity
    if identity.directory.kind == "toml":
        found = frozenset(person.groups)
    else:
        found = identity.roles_from_groups(person.groups)
    return found & _known_roles(policy)


def _known_roles(policy: Policy) -> frozenset[str]:
    return frozenset({SECURITY} | {g.id for g in policy.rules.groups})
