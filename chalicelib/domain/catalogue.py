"""The organisation, the platform catalogue, groups and approval routes (models of policies/).

Split from policy.py by concern: these say what may be asked and who decides it; the rules,
bounds and the policy as a whole are in policy.py, which re-exports these names.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DOMAIN_PATTERN = re.compile(
    r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"
)
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
ID_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
MANAGER = "manager"
SECURITY = "security"
ANY = "*"


class _Strict(BaseModel):
    # defer_build: a model builds its validator on first validation, so a process that
    # loads the validated snapshot (chalicelib.adapters.policy_files) never builds one.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True
    )


def _lower_email(value: str) -> str:
    return value.strip().lower()


class Person(_Strict):
    """Someone named in the policy (a security officer, a group member)."""

    email: str = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)
    name: str = Field(min_length=1, max_length=120)

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return _lower_email(value)


class UsagePolicy(_Strict):
    """The usage policy a requester accepts; its version is stored on every request."""

    version: str = Field(min_length=1, max_length=40)
    text_fr: str = Field(min_length=1)
    text_en: str = Field(min_length=1)


class Organisation(_Strict):
    """Who may ask, who decides, where e-mail comes from."""

    name_fr: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    allowed_email_domains: tuple[str, ...] = Field(min_length=1)
    sender: str = Field(pattern=EMAIL_PATTERN)
    link_lifetime_days: int = Field(ge=1, le=30)
    security_officers: tuple[Person, ...] = Field(min_length=1)
    usage_policy: UsagePolicy

    @field_validator("allowed_email_domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        lowered = tuple(d.strip().lower() for d in value)
        for domain in lowered:
            if not DOMAIN_PATTERN.match(domain):
                raise ValueError(f"not a domain or *.domain: {domain!r}")
        return lowered


class CatalogueEntry(_Strict):
    """A purpose or access level, named in both languages."""

    id: str = Field(pattern=ID_PATTERN)
    name_fr: str = Field(min_length=1, max_length=120)
    name_en: str = Field(min_length=1, max_length=120)

    def name(self, lang: str) -> str:
        """Return the name in the given language."""
        return self.name_fr if lang == "fr" else self.name_en


class Platform(CatalogueEntry):
    """A platform that may be requested, with its risk level (rules route by risk)."""

    risk: str = Field(pattern=ID_PATTERN)
    # The directory group whose members may reach the platform (issue 16); None: not enforced.
    group: str | None = Field(default=None, min_length=3, max_length=512, pattern=r"^[^\s=,]+=")
    # What the proxy opens for a member: each domain covers its subdomains (no wildcard).
    domains: tuple[str, ...] = Field(default=(), max_length=40)

    @field_validator("domains")
    @classmethod
    def _plain_domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        lowered = tuple(d.strip().lower() for d in value)
        for domain in lowered:
            if domain.startswith("*") or not DOMAIN_PATTERN.match(domain):
                raise ValueError(f"not a domain (no wildcard, at least two labels): {domain!r}")
        return lowered


class Catalogue(_Strict):
    """Platforms, purposes and access levels that may be requested."""

    platforms: tuple[Platform, ...] = Field(min_length=1)
    purposes: tuple[CatalogueEntry, ...] = Field(min_length=1)
    levels: tuple[CatalogueEntry, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Catalogue:
        for kind in ("platforms", "purposes", "levels"):
            ids = [entry.id for entry in getattr(self, kind)]
            if len(ids) != len(set(ids)):
                raise ValueError(f"{kind}: ids must be unique")
        return self

    def risks(self) -> set[str]:
        """Return the risk levels the catalogue uses."""
        return {p.risk for p in self.platforms}


class Group(_Strict):
    """A named group of approvers (e.g. communications); any one member decides its step."""

    id: str = Field(pattern=ID_PATTERN)
    name_fr: str = Field(min_length=1, max_length=120)
    name_en: str = Field(min_length=1, max_length=120)
    members: tuple[str, ...] = Field(min_length=1)

    @field_validator("members")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for email in value:
            if not re.match(EMAIL_PATTERN, email):
                raise ValueError(f"not an e-mail address: {email!r}")
        return tuple(_lower_email(e) for e in value)


class Route(_Strict):
    """Which chain, maximum duration and minimum justification apply to a platform and level."""

    risk: str = Field(default=ANY, pattern=rf"^(\*|{ID_PATTERN[1:-1]})$")
    platforms: tuple[str, ...] = ()
    level: str = Field(default=ANY, pattern=rf"^(\*|{ID_PATTERN[1:-1]})$")
    chain: tuple[str, ...] = Field(min_length=1)
    max_duration_days: int = Field(ge=1, le=730)
    min_justification_chars: int = Field(ge=1, le=2000)
    # Issue 17: the chain of a person who passed the current awareness module; a security
    # step left out becomes a notice to the officers (they can still revoke).
    chain_when_trained: tuple[str, ...] | None = None
    # Issue 17: the manager is asked "still needed?" every this many days of a grant.
    review_every_days: int | None = Field(default=None, ge=7, le=730)

    @model_validator(mode="after")
    def _trained_chain_shorter(self) -> Route:
        short = self.chain_when_trained
        if short is not None and (
            not short or short[0] != MANAGER or not set(short) <= set(self.chain)
        ):
            raise ValueError("chain_when_trained must start with manager and keep to chain")
        return self

    @field_validator("chain")
    @classmethod
    def _manager_first_security_last(cls, chain: tuple[str, ...]) -> tuple[str, ...]:
        if len(chain) < 2 or chain[0] != MANAGER or chain[-1] != SECURITY:
            raise ValueError("chain must start with manager and end with security")
        if len(set(chain)) != len(chain):
            raise ValueError("chain names a step twice")
        return chain

    def matches(self, platform: Platform, level: str) -> bool:
        """Tell whether this route applies to a platform at a level."""
        if self.level not in (ANY, level):
            return False
        if self.platforms:
            return platform.id in self.platforms
        return self.risk in (ANY, platform.risk)
