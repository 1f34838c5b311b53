"""The organisation's rules as validated models (read from policies/ by adapters/policy_files).

The catalogue, the organisation and the routes are in catalogue.py; their names are
re-exported here, so `from chalicelib.domain.policy import Catalogue` keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .awareness import Awareness
from .catalogue import (
    ANY,
    DOMAIN_PATTERN,
    EMAIL_PATTERN,
    ID_PATTERN,
    MANAGER,
    SECURITY,
    Catalogue,
    CatalogueEntry,
    Group,
    Organisation,
    Person,
    Platform,
    Route,
    UsagePolicy,
    _lower_email,
    _Strict,
)
from .identity_policy import IdentityPolicy
from .people import same_person
from .trust import TrustRules

__all__ = [
    "ANY",
    "DOMAIN_PATTERN",
    "EMAIL_PATTERN",
    "ID_PATTERN",
    "MANAGER",
    "SECURITY",
    "Catalogue",
    "CatalogueEntry",
    "DirectoryEntry",
    "Group",
    "Lifecycle",
    "Limits",
    "Organisation",
    "Person",
    "Platform",
    "Policy",
    "Route",
    "Routing",
    "Rules",
    "UsagePolicy",
]


class Limits(_Strict):
    """Per-address and per-source limits, enforced atomically by the store (per clock hour)."""

    max_open_requests: int = Field(ge=1, le=100)
    max_submissions_per_hour: int = Field(ge=1, le=1000)
    max_invalid_links_per_hour: int = Field(ge=1, le=100000)
    # Requests filed from one source IP (a ministry's egress is shared: keep it generous).
    max_submissions_per_source_per_hour: int = Field(ge=1, le=100000)
    # Anonymous refused attempts (self-approval, no approver) audited per source.
    max_refused_attempts_per_hour: int = Field(ge=1, le=100000)
    # Sign-in e-mails per typed address, and per source IP.
    max_signins_per_address_per_hour: int = Field(ge=1, le=1000)
    max_signins_per_source_per_hour: int = Field(ge=1, le=100000)


class Lifecycle(_Strict):
    """How long things may wait, in working days, before the scheduled jobs act."""

    # First reminder to an approver, then a slower reminder after each further wait.
    reminder_after_working_days: int = Field(default=2, ge=1, le=60)
    reminder_every_working_days: int = Field(default=3, ge=1, le=60)
    # The step moves to the fallback of its role (e.g. manager -> security).
    escalate_after_working_days: int = Field(default=6, ge=1, le=120)
    # Nobody decided: the request closes and the requester is told what to do next.
    expire_after_working_days: int = Field(default=15, ge=1, le=250)
    # Calendar days before a grant ends at which the requester gets a renewal link.
    ending_notice_days: int = Field(default=7, ge=1, le=90)
    # Who takes a step of a role that waited too long; a role not listed is never escalated.
    fallback: dict[str, str] = Field(default_factory=lambda: {MANAGER: SECURITY})
    # Days an e-mail or event that failed for good stays listed for the officers (and can be
    # retried) before DynamoDB's TTL collects it: it holds the request's content.
    failed_delivery_retention_days: int = Field(default=90, ge=1, le=3650)

    @model_validator(mode="after")
    def _ordered(self) -> Lifecycle:
        if not (
            self.reminder_after_working_days
            < self.escalate_after_working_days
            < self.expire_after_working_days
        ):
            raise ValueError("reminder < escalation < expiry (working days) is required")
        for role, target in self.fallback.items():
            if role == target:
                raise ValueError(f"fallback of {role!r} is itself")
        return self


class Rules(_Strict):
    """Routing and bounds of requests."""

    max_justification_chars: int = Field(ge=1, le=10000)
    limits: Limits
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    groups: tuple[Group, ...] = ()
    routes: tuple[Route, ...] = Field(min_length=1)
    # Issue 17: the usage-policy campaign and the recertification of long grants.
    trust: TrustRules = Field(default_factory=TrustRules)

    @model_validator(mode="after")
    def _review_after_its_notice(self) -> Rules:
        # The manager is asked `review_notice_days` before each period ends: a period no
        # longer than that would ask again the moment it was kept, for ever.
        notice = self.trust.review_notice_days
        for index, route in enumerate(self.routes):
            if route.review_every_days is not None and route.review_every_days <= notice:
                raise ValueError(
                    f"routes[{index}].review_every_days must be longer than "
                    f"trust.review_notice_days ({notice})"
                )
        return self


class DirectoryEntry(_Strict):
    """One employee and the manager who approves their requests."""

    email: str = Field(pattern=EMAIL_PATTERN)
    manager: str = Field(pattern=EMAIL_PATTERN)

    @field_validator("email", "manager")
    @classmethod
    def _lower(cls, value: str) -> str:
        return _lower_email(value)


@dataclass(frozen=True)
class Routing:
    """What applies to one request: the ordered chain and its bounds."""

    chain: tuple[str, ...]
    max_duration_days: int
    min_justification_chars: int
    # Issue 17: True when a trained person's chain leaves the security step as a notice.
    trained_path: bool = False
    review_every_days: int | None = None


class Policy(_Strict):
    """The whole policy: organisation, catalogue, rules and the optional directory."""

    organisation: Organisation
    catalogue: Catalogue
    rules: Rules
    directory: tuple[DirectoryEntry, ...] = ()
    # Public holidays (not counted in the lifecycle's working-day delays).
    holidays: tuple[date, ...] = ()
    # The provider, the directory and how sure Sésame must be of people (issue 15).
    identity: IdentityPolicy = Field(default_factory=IdentityPolicy)
    # The awareness module and its quiz (policies/awareness/), when the folder has one.
    awareness: Awareness | None = None

    @property
    def version(self) -> str:
        """Return the version recorded on every request decided under this policy."""
        return self.organisation.usage_policy.version

    def email_domain_allowed(self, email: str) -> bool:
        """Tell whether an address belongs to an allowed domain (wildcards match sub-domains)."""
        domain = email.rsplit("@", 1)[-1].lower()
        for allowed in self.organisation.allowed_email_domains:
            if allowed.startswith("*."):
                if domain.endswith(allowed[1:]):
                    return True
            elif domain == allowed:
                return True
        return False

    def platform(self, platform_id: str) -> Platform | None:
        """Return the catalogue entry of a platform, if listed."""
        return next((p for p in self.catalogue.platforms if p.id == platform_id), None)

    def officer_emails(self) -> tuple[str, ...]:
        """Return the addresses of the security officers."""
        return tuple(p.email for p in self.organisation.security_officers)

    def group(self, group_id: str) -> Group | None:
        """Return a named group of approvers."""
        return next((g for g in self.rules.groups if g.id == group_id), None)

    def members_of(self, role: str) -> tuple[str, ...]:
        """Return who may decide a step of a role other than manager."""
        if role == SECURITY:
            return self.officer_emails()
        group = self.group(role)
        return group.members if group else ()

    def pinned_manager(self, email: str) -> str | None:
        """Return the manager the directory names for an employee, if any."""
        return next((e.manager for e in self.directory if same_person(e.email, email)), None)

    def route_for(
        self, platform_ids: tuple[str, ...], level: str, *, trained: bool = False
    ) -> Routing | None:
        """Combine the routes of the chosen platforms: union of chains, strictest bounds."""
        chains: list[tuple[str, ...]] = []
        durations: list[int] = []
        justifications: list[int] = []
        reviews: list[int] = []
        for platform_id in platform_ids:
            platform = self.platform(platform_id)
            route = next(
                (r for r in self.rules.routes if platform and r.matches(platform, level)), None
            )
            if route is None:
                return None
            chains.append(
                route.chain_when_trained if trained and route.chain_when_trained else route.chain
            )
            reviews.extend([route.review_every_days] if route.review_every_days else [])
            durations.append(route.max_duration_days)
            justifications.append(route.min_justification_chars)
        if not chains:
            return None
        middle = [s for chain in chains for s in chain[1:] if s != SECURITY]
        # The security step stays a decision unless every chosen route's chain left it out.
        decided = any(SECURITY in chain for chain in chains)
        chain = (MANAGER, *dict.fromkeys(middle), *([SECURITY] if decided else []))
        review = min(reviews) if reviews else None
        return Routing(chain, min(durations), max(justifications), not decided, review)

    def fallback_for(self, role: str) -> str | None:
        """Return the role that takes over a step of `role` that waited too long, if any."""
        return self.rules.lifecycle.fallback.get(role)

    def role_name(self, role: str, lang: str) -> str | None:
        """Return the name of a group role (None for manager and security: translated text)."""
        group = self.group(role)
        return (group.name_fr if lang == "fr" else group.name_en) if group else None

    def label(
        self, kind: Literal["platforms", "purposes", "levels"], entry_id: str, lang: str
    ) -> str:
        """Return the name of a catalogue entry in a language (its id if no longer listed)."""
        entries: tuple[CatalogueEntry, ...] = getattr(self.catalogue, kind)
        entry = next((e for e in entries if e.id == entry_id), None)
        return entry.name(lang) if entry else entry_id

    def platform_names(self, platform_ids: tuple[str, ...], lang: str) -> str:
        """Return platform names joined for a sentence, e.g. "LinkedIn, X"."""
        return ", ".join(self.label("platforms", p, lang) for p in platform_ids)

    def usage_policy_text(self, lang: str) -> str:
        """Return the usage policy text in a language."""
        usage = self.organisation.usage_policy
        return usage.text_fr if lang == "fr" else usage.text_en
