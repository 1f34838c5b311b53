"""Names people read for things the policy defines (steps of a chain)."""

from __future__ import annotations

from collections.abc import Callable

from ..domain.policy import Policy
from .i18n import Translator


def role_labeller(policy: Policy, t: Translator) -> Callable[[str], str]:
    """Return a function naming a step role: manager, security, or a group from the policy."""

    def role_label(role: str) -> str:
        if t.has(f"role.{role}"):
            return t(f"role.{role}")
        return policy.role_name(role, t.lang) or role

    return role_label
