"""Turn grants into group membership and back: one access event, or the hourly reconciliation.

Every change goes through `_change`: idempotent at the directory (adding a member twice
changes nothing), retried with exponential backoff and full jitter while the directory is
unreachable, recorded per grant and group (the console's "applied since"), audited when it
changed something, and, when it still fails, recorded with its reason (listed beside the
failed e-mails, retried from there) and counted in the `EnforcementFailures` metric that
the `EnforcementFailureAlarm` watches.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from ..domain.directory import DirectoryError, DirectoryUnavailable, GroupDirectory
from ..domain.enforcement import (
    AccessState,
    ActiveGrant,
    backoff_delay,
    desired_members,
    groups_of,
    groups_to_remove,
    repairs,
)
from ..domain.errors import DomainError
from ..domain.models import AccessEvent, AccessRequest, RequestStatus
from ..notify import metrics
from ..store.console import RequestFilter
from ..store.enforcement import EnforcementStore
from .audit import new_event
from .context import Services

log = logging.getLogger(__name__)
ACTOR = "sesame-enforcement"
# Reconciliation repairs that no grant asks for (a member added by hand) are keyed here.
NO_GRANT = "reconcile"
FAILURE_METRIC = "EnforcementFailures"
_RANDOM = secrets.SystemRandom()


@dataclass
class Enforcer:
    """What the enforcement use cases need: the services, the groups port, its state store."""

    services: Services
    directory: GroupDirectory
    store: EnforcementStore
    # Groups under this DN (and named by the catalogue) are Sésame's; no other is touched.
    groups_base: str
    attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 4.0
    sleep: Callable[[float], None] = time.sleep
    fraction: Callable[[], float] = field(default=_RANDOM.random)


@dataclass(frozen=True)
class ReconcileReport:
    """What one reconciliation did: repairs made, repairs that failed, groups unreadable."""

    added: int = 0
    removed: int = 0
    failed: int = 0
    unreadable_groups: tuple[str, ...] = ()


def grant_of(request: AccessRequest) -> ActiveGrant | None:
    """Return an approved request as a grant (start: its last decision), else None."""
    if request.status != RequestStatus.APPROVED or request.access_until is None:
        return None
    decided = [s.decided_at for s in request.steps if s.decided_at]
    start = max(decided) if decided else request.created_at
    return ActiveGrant(
        request.id, request.content.email.lower(), request.content.platforms,
        start, request.access_until,
    )  # fmt: skip


def active_grants(enforcer: Enforcer, email: str | None = None) -> list[ActiveGrant]:
    """Return the active grants (a person's, when given): Queries on the Grants index only."""
    now = enforcer.services.clock()
    wanted = RequestFilter(requester=email) if email else RequestFilter()
    found = enforcer.services.store.console.all_grants(wanted, now)
    return [g for g in map(grant_of, found) if g is not None and g.active_at(now)]


def _audit(
    enforcer: Enforcer,
    request_id: str | None,
    action: Literal["access_applied", "access_failed", "access_repaired"],
    reason: str,
    comment: str,
) -> None:
    services = enforcer.services
    event = new_event(
        services,
        action,
        ACTOR,
        "schedule",
        request_id=request_id,
        reason=reason[:200],
        comment=comment[:1000],
    )
    try:
        services.store.audit.append(event)
    except DomainError as error:  # the change is made; losing its trace must be loud
        log.error("enforcement change not audited: %s (%s)", error, comment)


def _change(
    enforcer: Enforcer,
    request_id: str,
    group: str,
    email: str,
    action: Literal["add", "remove"],
    *,
    repair: bool = False,
) -> AccessState:
    """Apply one membership change with bounded retries; record, audit, count a failure."""
    operation = (
        enforcer.directory.add_member if action == "add" else enforcer.directory.remove_member
    )
    reason = ""
    attempt = 0
    while attempt < enforcer.attempts:
        attempt += 1
        try:
            changed = operation(group, email)
        except DirectoryUnavailable as error:
            reason = f"directory unavailable: {error.reason}"
            if attempt < enforcer.attempts:
                enforcer.sleep(
                    backoff_delay(
                        attempt, enforcer.base_delay_s, enforcer.max_delay_s, enforcer.fraction()
                    )
                )
            continue
        except DirectoryError as error:  # refused (no such person, no such group): final
            reason = f"directory refused: {error.reason}"
            break
        state = AccessState(
            request_id, group, email, action, "applied", enforcer.services.clock(), attempt
        )
        enforcer.store.record(state)
        if changed:
            audited = None if request_id == NO_GRANT else request_id
            _audit(
                enforcer, audited, "access_repaired" if repair else "access_applied",
                action, f"{action} {email} {group}",
            )  # fmt: skip
        return state
    now = enforcer.services.clock()
    state = AccessState(request_id, group, email, action, "failed", now, attempt, reason)
    enforcer.store.record(state)
    audited = None if request_id == NO_GRANT else request_id
    _audit(enforcer, audited, "access_failed", reason, f"{action} {email} {group}")
    metrics.emit({FAILURE_METRIC: 1}, now)
    log.warning("enforcement failed: %s %s: %s", action, group, reason)
    return state


def _catalogue_groups(enforcer: Enforcer, platforms: Iterable[str]) -> set[str]:
    return groups_of(platforms, enforcer.services.policy.catalogue, enforcer.groups_base)


def apply_event(enforcer: Enforcer, event: AccessEvent) -> list[AccessState]:
    """Apply AccessGranted (add the holder) or AccessRevoked/AccessEnded (remove them).

    Events arrive at least once and in any order, so the request is read again: a grant
    that is no longer active is not applied (a late AccessGranted after a revocation), and a
    removal keeps the groups another active grant of the same person still needs.
    """
    services = enforcer.services
    email = event.requester.lower()
    request = services.store.load_request(event.request_id)
    current = grant_of(request) if request else None
    now = services.clock()
    if event.detail_type == "AccessGranted":
        if current is None or not current.active_at(now):
            return []
        groups = _catalogue_groups(enforcer, current.platforms)
        return [_change(enforcer, event.request_id, g, email, "add") for g in sorted(groups)]
    ending = ActiveGrant(event.request_id, email, event.platforms, event.start, event.end)
    others = active_grants(enforcer, email)
    freed = groups_to_remove(ending, others, services.policy.catalogue, enforcer.groups_base, now)
    return [_change(enforcer, event.request_id, g, email, "remove") for g in sorted(freed)]


def _members(enforcer: Enforcer, group: str) -> frozenset[str] | None:
    """Read a group's members with the same bounded retries; None when it stays unreadable."""
    for attempt in range(1, enforcer.attempts + 1):
        try:
            return frozenset(e.lower() for e in enforcer.directory.members(group))
        except DirectoryUnavailable:
            if attempt < enforcer.attempts:
                enforcer.sleep(
                    backoff_delay(
                        attempt, enforcer.base_delay_s, enforcer.max_delay_s, enforcer.fraction()
                    )
                )
        except DirectoryError:
            return None
    return None


def reconcile(enforcer: Enforcer) -> ReconcileReport:
    """Make each owned group's members equal to the active grants; audit each repair.

    Desired state: the active grants (Queries on the Grants index). Actual state: the members
    of each group Sésame owns. A group it cannot read is left as it is (never emptied on a
    guess) and reported; a group it does not own is never read nor changed.
    """
    services = enforcer.services
    grants = active_grants(enforcer)
    now = services.clock()
    desired = desired_members(grants, services.policy.catalogue, enforcer.groups_base, now)
    actual: dict[str, frozenset[str]] = {}
    unreadable: list[str] = []
    for group in sorted(desired):
        members = _members(enforcer, group)
        if members is None:
            unreadable.append(group)
        else:
            actual[group] = members
    wanted = {group: desired[group] for group in actual}
    added = removed = failed = 0
    for fix in repairs(wanted, actual):
        owner = next(
            (
                g.request_id
                for g in grants
                if g.email == fix.email and fix.group in _catalogue_groups(enforcer, g.platforms)
            ),
            NO_GRANT,
        )
        state = _change(enforcer, owner, fix.group, fix.email, fix.action, repair=True)
        if state.state == "failed":
            failed += 1
        elif fix.action == "add":
            added += 1
        else:
            removed += 1
    if unreadable:
        metrics.emit({FAILURE_METRIC: len(unreadable)}, now)
        log.warning("reconciliation could not read %s", ", ".join(unreadable))
    return ReconcileReport(added, removed, failed, tuple(unreadable))


def retry_failure(
    enforcer: Enforcer, request_id: str, group: str, email: str
) -> AccessState | None:
    """Apply a failed change again (the console's "retry"); None when there is no such failure."""
    state = enforcer.store.state(request_id, group, email)
    if state is None or state.state != "failed":
        return None
    if state.action == "add" and request_id != NO_GRANT:
        request = enforcer.services.store.load_request(request_id)
        grant = grant_of(request) if request else None
        if grant is None or not grant.active_at(enforcer.services.clock()):
            # The grant ended meanwhile: adding would open a door nobody may use.
            return _change(enforcer, request_id, group, state.email, "remove")
    return _change(enforcer, request_id, group, state.email, state.action)


def access_of(enforcer: Enforcer, request_id: str) -> list[AccessState]:
    """Return, per group, whether a grant's access is applied and since when (grant detail)."""
    return enforcer.store.states_of(request_id)


def failures(enforcer: Enforcer) -> list[AccessState]:
    """Return the lasting enforcement failures, newest first (the console's "Échecs")."""
    return enforcer.store.failures()
