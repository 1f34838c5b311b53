"""The policy in force, for layers that must not read policy files themselves (pages)."""

from __future__ import annotations

from ..adapters.policy_files import cached_policy
from ..domain.policy import Policy
from ..settings import get_settings


def policy_in_force() -> Policy:
    """Return the validated policy of the configured folder (loaded once per process)."""
    return cached_policy(get_settings().policy_dir)
