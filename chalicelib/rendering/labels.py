"""Names people read for things the policy defines (steps of a chain)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..domain.policy import Policy
    from .i18n import Translator


def role_labeller(policy: Policy, t: Translator) -> Callable[[str], str]:
    """Return a function naming a step role: manager, security, or a group from the policy."""
    return lazy_role_labeller(lambda: policy, t)


def lazy_role_labeller(policy: Callable[[], Policy], t: Translator) -> Callable[[str], str]:
    """Return `role_labeller` of a policy read only when a role that is no text is named."""

    def role_label(role: str) -> str:
        if t.has(f"role.{role}"):
            return t(f"role.{role}")
        return policy().role_name(role, t.lang) or role

    return role_label
