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
from ..adapters.policy_snapshot import snapshot_form_view
from ..dev import clock as dev_clock
from ..domain.form_view import FormPolicy, form_view
from ..settings import RunSettings, get_settings

if TYPE_CHECKING:
    from ..domain.calendar import WorkCalendar
    from ..domain.policy import Policy
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
    """RunSettings, policy, store and clock of the running process."""

    settings: RunSettings
    # The policy is built on first use too: the empty form shows it through `form_policy`,
    # which a current snapshot answers without defining the policy's pydantic models.
    make_policy: Callable[[], Policy]
    # The store is built on first use: the form page reads none of it, and importing the
    # store's modules (and their models) is a good part of a cold start (docs/performance.md).
    make_store: Callable[[], RequestStore]
    clock: Callable[[], datetime] = utc_now
    new_id: Callable[[], str] = field(default=new_event_id)
    # Usage-policy versions whose campaign this process saw closed (the lifecycle skips them).
    closed_campaigns: set[str] = field(default_factory=set)

    # The form's view of a current snapshot (None: read the policy itself).
    read_form_view: Callable[[], FormPolicy | None] = lambda: None

    @functools.cached_property
    def policy(self) -> Policy:
        """Return the policy in force, loaded once on first use (tests may replace it)."""
        return self.make_policy()

    @functools.cached_property
    def store(self) -> RequestStore:
        """Return the request store, built once on first use."""
        return self.make_store()

    def form_policy(self) -> FormPolicy:
        """Return what the request form shows of the policy in force."""
        if "policy" not in self.__dict__:  # neither loaded yet nor replaced (by a test)
            view = self.read_form_view()
            if view is not None:
                return view
        return form_view(self.policy)


@functools.cache
def get_services() -> Services:
    """Build the services on first use (never at import: settings arrive with the first call)."""
    settings = get_settings()
    return Services(
        settings=settings,
        make_policy=functools.partial(_policy, settings),
        make_store=functools.partial(_request_store, settings),
        read_form_view=functools.partial(snapshot_form_view, settings.policy_dir),
        # The local stack's clock can be moved forward at /dev/clock; AWS stages read UTC.
        clock=dev_clock.now if settings.is_local else utc_now,
    )


def _policy(settings: RunSettings) -> Policy:
    from ..adapters.policy_files import cached_policy

    policy = cached_policy(settings.policy_dir)
    if settings.stage == "local" and os.environ.get(NO_PROVIDER_VARIABLE) == "1":
        identity = policy.identity.model_copy(update={"sign_in": None})
        policy = policy.model_copy(update={"identity": identity})
    return policy


def _request_store(settings: RunSettings) -> RequestStore:
    from ..domain.timers import next_due
    from ..store.requests import RequestStore

    policy = _policy(settings)  # the policy of the folder, as when it was built with the services
    calendar = work_calendar(policy)
    return RequestStore(
        aws.dynamodb(),
        settings.main_table,
        settings.audit_table,
        next_due=functools.partial(next_due, policy=policy, calendar=calendar),
    )


def work_calendar(policy: Policy) -> WorkCalendar:
    """Return the working-day calendar of a policy (its public holidays)."""
    from ..domain.calendar import WorkCalendar

    return WorkCalendar(holidays=frozenset(policy.holidays))


def reset_services() -> None:
    """Forget the cached services, settings and clients (tests change the environment)."""
    get_services.cache_clear()
    get_settings.cache_clear()
    from ..adapters.policy_files import cached_policy

    cached_policy.cache_clear()
    snapshot_form_view.cache_clear()
    aws.reset_clients()
    dev_clock.forget()
