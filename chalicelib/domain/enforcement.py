"""Enforcement rules: which groups Sésame owns, who should be in them, what to repair.

Pure: grants, the catalogue and the groups' members are passed in; so are the clock's reading
and the jitter's random fraction. The use cases (chalicelib/service/enforce.py) do the I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from .catalogue import Catalogue

_SPACED = re.compile(r"\s*,\s*")


def group_key(dn: str) -> str:
    """Return a group DN in one spelling (lower case, no spaces around commas) to compare."""
    return _SPACED.sub(",", dn.strip()).lower()


def is_under(dn: str, base: str) -> bool:
    """Tell whether a DN lies strictly under a base DN (the base itself is not a group)."""
    return group_key(dn).endswith("," + group_key(base))


def owned_groups(catalogue: Catalogue, base: str) -> dict[str, tuple[str, ...]]:
    """Map each group Sésame owns (named by the catalogue AND under `base`) to its platforms.

    A group the catalogue names outside the base is not owned: Sésame never changes it,
    whatever the catalogue says (a typo must not empty the network administrators' group).
    """
    groups: dict[str, list[str]] = {}
    for platform in catalogue.platforms:
        if platform.group and is_under(platform.group, base):
            groups.setdefault(group_key(platform.group), []).append(platform.id)
    return {group: tuple(ids) for group, ids in groups.items()}


@dataclass(frozen=True)
class ActiveGrant:
    """One approved request as enforcement sees it: whose, which platforms, until when."""

    request_id: str
    email: str
    platforms: tuple[str, ...]
    start: datetime
    end: datetime

    def active_at(self, now: datetime) -> bool:
        """Tell whether the grant is in force at `now` (start included, end excluded)."""
        return self.start <= now < self.end


def groups_of(platforms: Iterable[str], catalogue: Catalogue, base: str) -> set[str]:
    """Return the owned groups that open these platforms."""
    wanted = set(platforms)
    return {
        group for group, ids in owned_groups(catalogue, base).items() if wanted.intersection(ids)
    }


def desired_members(
    grants: Iterable[ActiveGrant], catalogue: Catalogue, base: str, now: datetime
) -> dict[str, frozenset[str]]:
    """Return, for every owned group, the addresses that active grants put in it."""
    members: dict[str, set[str]] = {group: set() for group in owned_groups(catalogue, base)}
    for grant in grants:
        if not grant.active_at(now):
            continue
        for group in groups_of(grant.platforms, catalogue, base):
            members[group].add(grant.email.lower())
    return {group: frozenset(emails) for group, emails in members.items()}


@dataclass(frozen=True)
class Repair:
    """One change that makes a group equal to the grants: add or remove one member."""

    group: str
    email: str
    action: Literal["add", "remove"]


def repairs(
    desired: Mapping[str, frozenset[str]], actual: Mapping[str, frozenset[str]]
) -> list[Repair]:
    """Return the changes that make each owned group's members equal to the desired ones.

    Only groups present in `desired` (the owned ones) are considered: a group that only
    `actual` holds is never touched. The order is stable (group, then address) so that a
    run's audit trail reads the same way twice.
    """
    changes: list[Repair] = []
    for group in sorted(desired):
        want, have = desired[group], actual.get(group, frozenset())
        changes += [Repair(group, email, "add") for email in sorted(want - have)]
        changes += [Repair(group, email, "remove") for email in sorted(have - want)]
    return changes


def groups_to_remove(
    ending: ActiveGrant,
    others: Iterable[ActiveGrant],
    catalogue: Catalogue,
    base: str,
    now: datetime,
) -> set[str]:
    """Return the groups an ending grant frees: its groups minus those another grant needs.

    `others` are the person's other grants; one still in force keeps its groups (a person
    with two requests covering LinkedIn keeps LinkedIn when the first one ends).
    """
    freed = groups_of(ending.platforms, catalogue, base)
    for other in others:
        same_person = other.email.lower() == ending.email.lower()
        if other.request_id != ending.request_id and same_person and other.active_at(now):
            freed -= groups_of(other.platforms, catalogue, base)
    return freed


def backoff_delay(attempt: int, base_s: float, cap_s: float, fraction: float) -> float:
    """Return the wait before retry `attempt` (1, 2, ...): full jitter, exponential, capped.

    `fraction` is a random number in [0, 1) drawn by the caller (the domain draws none).
    Full jitter (a uniform wait up to the exponential bound) spreads retries of many
    failing calls, so a directory that comes back is not hit by all of them at once.
    """
    if attempt < 1:
        raise ValueError("attempts count from 1")
    bound: float = min(cap_s, base_s * 2.0 ** (attempt - 1))
    return bound * min(max(fraction, 0.0), 1.0)


@dataclass(frozen=True)
class AccessState:
    """Whether one grant's change reached one group: applied, removed or failed, since when."""

    request_id: str
    group: str
    email: str
    action: Literal["add", "remove"]
    state: Literal["applied", "failed"]
    since: datetime
    attempts: int = 1
    reason: str | None = None
