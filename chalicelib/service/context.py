"""What the use cases depend on, built lazily once per process."""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .. import aws
from ..adapters.policy_files import cached_policy
from ..dev import clock as dev_clock
from ..domain.calendar import WorkCalendar
from ..domain.policy import Policy
from ..settings import Settings, get_settings

if TYPE_CHECKING:
    from ..store.requests import RequestStore

# Set to "1" by the local stack when it runs without its identity provider (no Node.js, or
# another port than the demo client's): the app then behaves as without a provider (e-mail
# sign-in; the link is the credential) instead of sending people to a provider that is not
# there, or asking a sign-in nobody can give. Honoured in the local stage only.
NO_PROVIDER_VARIABLE = "SESAME_LOCAL_PROVIDER_OFF"


def utc_now() -> datetime:
    """Return the server clock in UTC (the only clock the use cases read)."""
    return datetime.now(UTC)


def new_event_id() -> str:
    """Return a random id for an audit event or outbox entry."""
    return secrets.token_hex(8)


@dataclass
class Services:
    """Settings, policy, store and clock of the running process."""

    settings: Settings
    policy: Policy
    # The store is built on first use: the form page reads none of it, and importing the
    # store's modules (and their models) is a good part of a cold start (docs/performance.md).
    make_store: Callable[[], RequestStore]
    clock: Callable[[], datetime] = utc_now
    new_id: Callable[[], str] = field(default=new_event_id)
    # Usage-policy versions whose campaign this process saw closed (the lifecycle skips them).
    closed_campaigns: set[str] = field(default_factory=set)

    @functools.cached_property
    def store(self) -> RequestStore:
        """Return the request store, built once on first use."""
        return self.make_store()


@functools.cache
def get_services() -> Services:
    """Build the services on first use (never at import: settings arrive with the first call)."""
    settings = get_settings()
    policy = cached_policy(settings.policy_dir)
    if settings.stage == "local" and os.environ.get(NO_PROVIDER_VARIABLE) == "1":
        identity = policy.identity.model_copy(update={"sign_in": None})
        policy = policy.model_copy(update={"identity": identity})
    calendar = work_calendar(policy)
    return Services(
        settings=settings,
        policy=policy,
        make_store=functools.partial(_request_store, settings, policy, calendar),
        # The local stack's clock can be moved forward at /dev/clock; AWS stages read UTC.
        clock=dev_clock.now if settings.is_local else utc_now,
    )


def _request_store(settings: Settings, policy: Policy, calendar: WorkCalendar) -> RequestStore:
    from ..domain.timers import next_due
    from ..store.requests import RequestStore

    return RequestStore(
        aws.dynamodb(),
        settings.main_table,
        settings.audit_table,
        next_due=functools.partial(next_due, policy=policy, calendar=calendar),
    )


def work_calendar(policy: Policy) -> WorkCalendar:
    """Return the working-day calendar of a policy (its public holidays)."""
    return WorkCalendar(holidays=frozenset(policy.holidays))


def reset_services() -> None:
    """Forget the cached services, settings and clients (tests change the environment)."""
    get_services.cache_clear()
    get_settings.cache_clear()
    cached_policy.cache_clear()
    aws.reset_clients()
    dev_clock.forget()
