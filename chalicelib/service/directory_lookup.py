"""Read people from the configured directory (TOML or LDAP) for the form and the roles.

The directory is built once per process (the LDAP adapter, and ldap3 with it, only when the
policy says `kind = "ldap"`); its bind password comes from SSM in AWS.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping, Sequence

from .. import aws
from ..adapters.directory_toml import TomlDirectory
from ..domain.directory import Directory, DirectoryError, Person
from ..domain.requester import (
    DIRECTORY_UNAVAILABLE,
    MANAGER_NOT_IN_DIRECTORY,
    MANAGER_OUTSIDE_DOMAINS,
    ManagerChoice,
    ManagerSource,
    choose_manager,
    directory_roles,
    roles_of,
)
from ..domain.submission import SubmissionResult, check_address, validate_submission
from ..settings import LOCAL_STAGES
from .context import Services

log = logging.getLogger(__name__)
# Local and test stages only: the bind password of the local slapd (deployed stages read SSM).
LOCAL_PASSWORD_VARIABLE = "SESAME_LDAP_BIND_PASSWORD"  # noqa: S105  # nosec B105  (a name)

_directories: dict[int, tuple[Services, Directory]] = {}
_lock = threading.Lock()


def _bind_password(services: Services) -> str:
    settings = services.policy.identity.directory
    local = os.environ.get(LOCAL_PASSWORD_VARIABLE)
    if services.settings.stage in LOCAL_STAGES and local:
        return local
    assert settings.bind_password_parameter is not None  # the policy loader requires it
    response = aws.ssm().get_parameter(Name=settings.bind_password_parameter, WithDecryption=True)
    return response["Parameter"]["Value"]


def directory_for(services: Services) -> Directory:
    """Return the configured directory of this process (built on first use)."""
    with _lock:
        cached = _directories.get(id(services))
        if cached is not None and cached[0] is services:
            return cached[1]
        settings = services.policy.identity.directory
        directory: Directory
        if settings.kind == "ldap" and settings.ldap is not None:
            # Imported here: ldap3 is loaded only where a directory over LDAP is configured.
            from ..adapters.directory_ldap import LdapDirectory, LdapSettings

            directory = LdapDirectory(
                LdapSettings.model_validate(
                    {**settings.ldap, "bind_password": _bind_password(services)}
                )
            )
        else:
            directory = TomlDirectory(services.policy)
        _directories[id(services)] = (services, directory)
        return directory


def find_requester(services: Services, email: str) -> Person | None:
    """Return what the directory knows of a person (DirectoryError when it cannot answer)."""
    return directory_for(services).find_person(email)


def manager_for(services: Services, email: str) -> ManagerChoice:
    """Decide the requester's manager from the directory, for the form and for filing.

    A directory that cannot answer gives the error DIRECTORY_UNAVAILABLE (nothing is filed),
    never a silent fallback to the typed manager. A manager the directory names at an address
    outside the allowed domains is not used (logged for the operator): the form asks for one,
    or refuses with MANAGER_OUTSIDE_DOMAINS when the policy requires the directory's.
    """
    try:
        person = find_requester(services, email)
    except DirectoryError as error:
        log.warning("directory lookup failed: %s", error.reason)
        return ManagerChoice(None, "typed", DIRECTORY_UNAVAILABLE)
    policy = services.policy
    choice = choose_manager(
        person, policy.identity.require_directory_manager, policy.email_domain_allowed
    )
    if person is not None and person.manager_email and choice.source == "typed":
        # A directory entry the operator must correct: its manager would get approval links.
        log.warning(
            "directory manager of %s is outside the allowed domains (@%s): not used",
            email,
            person.manager_email.rsplit("@", 1)[-1],
        )
    return choice


def person_roles(
    services: Services, email: str, session_roles: Iterable[str] = ()
) -> frozenset[str]:
    """Return a person's Sésame roles (policy lists, ID token, directory groups).

    A directory that cannot answer gives the roles known without it (never more).
    """
    try:
        person = find_requester(services, email)
    except DirectoryError as error:
        log.warning("directory lookup failed: %s", error.reason)
        person = None
    return roles_of(
        services.policy,
        email,
        session_roles=session_roles,
        person=person,
    )


def sign_in_roles(
    services: Services, email: str, token_roles: Iterable[str] = ()
) -> tuple[str, ...]:
    """Return the roles a new session keeps: the ID token's (mapped) and the directory groups'.

    Resolved once at sign-in so that no page asks the directory again; the policy's lists are
    not kept (they are read live, so removing a name from them takes effect at once). A
    directory that cannot answer gives the token's roles only (never more).
    """
    try:
        person = find_requester(services, email)
    except DirectoryError as error:
        log.warning("directory lookup failed at sign-in: %s", error.reason)
        person = None
    return tuple(sorted(set(token_roles) | directory_roles(services.policy, person)))


def validate_with_directory(
    services: Services, form: Mapping[str, Sequence[str]]
) -> tuple[SubmissionResult, ManagerSource]:
    """Validate a filed form with the manager the directory names for its requester.

    The directory's manager replaces a typed one; a requester it does not know keeps the
    typed manager ("typed": not verified), or is refused when the policy requires the
    directory's; a directory that cannot answer refuses the form (nothing is filed).
    """
    policy = services.policy
    email, problem = check_address((form.get("email") or [""])[0], policy)
    choice = manager_for(services, email) if problem is None else ManagerChoice(None, "typed")
    result = validate_submission(form, policy, pinned_manager=choice.manager_email)
    if choice.error is None:
        return result, choice.source
    on_manager = choice.error in (MANAGER_NOT_IN_DIRECTORY, MANAGER_OUTSIDE_DOMAINS)
    field = "manager_email" if on_manager else "form"
    errors = {**result.errors, field: choice.error}
    return SubmissionResult(None, errors, result.routing, result.pinned_manager), choice.source
