"""The policy in force, for layers that must not read policy files themselves (pages)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..settings import get_settings

if TYPE_CHECKING:
    from ..domain.policy import Policy


def policy_in_force() -> Policy:
    """Return the validated policy of the configured folder (loaded once per process)."""
    # Imported here: a page that names no policy role (the empty form) loads no policy model.
    from ..adapters.policy_files import cached_policy

    return cached_policy(get_settings().policy_dir)
