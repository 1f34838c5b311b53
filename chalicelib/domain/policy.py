"""The organisation's rules as validated models (read from policies/ by chalicelib.policy_files)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

StepRole = Literal["manager", "security"]
DOMAIN_PATTERN = r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Person(_Strict):
    """Someone named in the policy (a security officer)."""

    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1, max_length=120)

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


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
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    link_lifetime_days: int = Field(ge=1, le=30)
    security_officers: tuple[Person, ...] = Field(min_length=1)
    usage_policy: UsagePolicy

    @field_validator("allowed_email_domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import re

        lowered = tuple(d.lower() for d in value)
        for domain in lowered:
            if not re.match(DOMAIN_PATTERN, domain):
                raise ValueError(f"not a domain or *.domain: {domain!r}")
        return lowered


class CatalogueEntry(_Strict):
    """A platform, purpose or access level, named in both languages."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    name_fr: str = Field(min_length=1, max_length=120)
    name_en: str = Field(min_length=1, max_length=120)

    def name(self, lang: str) -> str:
        """Return the name in the given language."""
        return self.name_fr if lang == "fr" else self.name_en


class Catalogue(_Strict):
    """Platforms, purposes and access levels that may be requested."""

    platforms: tuple[CatalogueEntry, ...] = Field(min_length=1)
    purposes: tuple[CatalogueEntry, ...] = Field(min_length=1)
    levels: tuple[CatalogueEntry, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Catalogue:
        for kind in ("platforms", "purposes", "levels"):
            ids = [entry.id for entry in getattr(self, kind)]
            if len(ids) != len(set(ids)):
                raise ValueError(f"{kind}: ids must be unique")
        return self


class Rules(_Strict):
    """Routing and bounds of a request."""

    chain: tuple[StepRole, ...] = Field(min_length=1)
    max_duration_days: int = Field(ge=1, le=730)
    min_justification_chars: int = Field(ge=1, le=2000)
    max_justification_chars: int = Field(ge=1, le=10000)

    @model_validator(mode="after")
    def _chain_ends_with_security(self) -> Rules:
        if self.chain[0] != "manager" or self.chain[-1] != "security":
            raise ValueError("chain must start with manager and end with security")
        if self.min_justification_chars > self.max_justification_chars:
            raise ValueError("min_justification_chars is above max_justification_chars")
        return self


class Policy(_Strict):
    """The whole policy: organisation, catalogue and rules."""

    organisation: Organisation
    catalogue: Catalogue
    rules: Rules

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

    def platform(self, platform_id: str) -> CatalogueEntry | None:
        """Return the catalogue entry of a platform, if listed."""
        return next((p for p in self.catalogue.platforms if p.id == platform_id), None)

    def officer_emails(self) -> tuple[str, ...]:
        """Return the addresses of the security officers."""
        return tuple(p.email for p in self.organisation.security_officers)

    def officer_name(self, email: str) -> str | None:
        """Return the name of a security officer by address."""
        return next((p.name for p in self.organisation.security_officers if p.email == email), None)

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
