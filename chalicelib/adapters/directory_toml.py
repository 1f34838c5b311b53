"""The directory of `policies/` (the embedded default): managers from directory.toml, roles from
the officers and groups of organisation.toml and rules.toml.

It wraps the Policy that adapters/policy_files.py already reads and validates; nothing is read
twice. It only reads: group membership changes need a real directory (LDAP).
"""

from __future__ import annotations

from ..domain.directory import Person
from ..domain.people import same_person
from ..domain.policy import SECURITY, Policy


class TomlDirectory:
    """The Directory port over the policy files; group ids are the policy's role ids."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def find_person(self, email: str) -> Person | None:
        """Return what the policy files say of a person, or None when they name them nowhere."""
        policy = self.policy
        entry = next((e for e in policy.directory if same_person(e.email, email)), None)
        officer = next(
            (p for p in policy.organisation.security_officers if same_person(p.email, email)),
            None,
        )
        groups = {SECURITY} if officer else set()
        # The address as the policy spells it (no +tag), not as it was typed.
        spelled: str | None = None
        for group in policy.rules.groups:
            member = next((m for m in group.members if same_person(m, email)), None)
            if member is not None:
                groups.add(group.id)
                spelled = spelled or member
        if entry is None and officer is None and spelled is None:
            return None
        known = entry.email if entry else officer.email if officer else spelled or email
        return Person(
            email=known,
            display_name=officer.name if officer else None,
            manager_email=entry.manager if entry else None,
            groups=frozenset(groups),
        )
