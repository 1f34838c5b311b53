"""The identity settings of the policy: the organisation's provider, the directory, the rules.

Read from `organisation.toml [sign_in]` and `[directory]` and from `rules.toml`
(`require_directory_manager`) by chalicelib.adapters.policy_identity. Pure: no secret is held here,
only the name of the SSM parameter that holds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

# A Sésame role: "security" or the id of a group of rules.toml (checked by the loader).
ROLE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
STAGE = Literal["local", "test", "dev", "prod"]
SSM_PARAMETER = r"^/[A-Za-z0-9_.\-/]{1,1000}$"


class _Strict(BaseModel):
    # defer_build, as the policy's models: a process loading the snapshot builds no validator.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True
    )


class SignInSettings(_Strict):
    """The organisation's OpenID Provider and Sésame's registration there."""

    # The stages this provider serves: the demo policy names the local provider for "local"
    # only, so the test stage and every deployed stage keep their own (or none).
    stages: tuple[STAGE, ...] = Field(min_length=1)
    issuer: str = Field(min_length=1, max_length=500, pattern=r"^https?://\S+$")
    client_id: str = Field(min_length=1, max_length=255)
    # The SecureString in SSM Parameter Store holding the client secret (AWS stages).
    client_secret_parameter: str = Field(pattern=SSM_PARAMETER)
    roles_claim: str = Field(default="roles", min_length=1, max_length=100)
    # Provider role (e.g. an Entra app role) -> Sésame role ("security" or a group id).
    roles: dict[str, str] = Field(default_factory=dict, max_length=50)
    # The one-time e-mail sign-in links stay as a fallback unless turned off.
    email_links: StrictBool = True
    # None: on, because a provider is configured (the default).
    decisions_require_sign_in: StrictBool | None = None

    @field_validator("roles")
    @classmethod
    def _role_names(cls, value: dict[str, str]) -> dict[str, str]:
        for provider_role, role in value.items():
            if not provider_role.strip() or len(provider_role) > 120:
                raise ValueError("a provider role is empty or longer than 120 characters")
            if not re.match(ROLE_PATTERN, role):
                raise ValueError(f"not a Sésame role: {role!r}")
        return value


class DirectorySettings(_Strict):
    """Where people's managers and groups come from: the policy files, or LDAP."""

    kind: Literal["toml", "ldap"] = "toml"
    # The fields of the LDAP adapter's settings (checked by the loader), without the password.
    ldap: dict[str, Any] | None = None
    # The SecureString in SSM holding the bind password (AWS stages).
    bind_password_parameter: str | None = Field(default=None, pattern=SSM_PARAMETER)
    # Directory group (a DN, any spelling) -> Sésame role ("security" or a group id).
    groups: dict[str, str] = Field(default_factory=dict, max_length=50)


class IdentityPolicy(_Strict):
    """Everything the policy says about who people are and how sure Sésame must be of it."""

    sign_in: SignInSettings | None = None
    directory: DirectorySettings = Field(default_factory=DirectorySettings)
    # Refuse a request whose requester the directory does not know (no verified manager).
    require_directory_manager: StrictBool = False

    def sign_in_for(self, stage: str) -> SignInSettings | None:
        """Return the provider that serves a stage, or None (e-mail links only)."""
        settings = self.sign_in
        return settings if settings is not None and stage in settings.stages else None

    def email_links_allowed(self, stage: str) -> bool:
        """Tell whether the one-time e-mail sign-in links are offered in a stage."""
        settings = self.sign_in_for(stage)
        return settings is None or settings.email_links

    def decisions_require_sign_in(self, stage: str) -> bool:
        """Tell whether Approve and Refuse need a provider session (on by default with one)."""
        settings = self.sign_in_for(stage)
        if settings is None:
            return False  # without a provider the link is the credential (docs/security.md)
        return (
            True
            if settings.decisions_require_sign_in is None
            else (settings.decisions_require_sign_in)
        )

    def roles_from_provider(self, stage: str, provider_roles: Iterable[str]) -> frozenset[str]:
        """Return the Sésame roles an ID token's roles give (unmapped roles give nothing)."""
        settings = self.sign_in_for(stage)
        if settings is None:
            return frozenset()
        return frozenset(settings.roles[r] for r in provider_roles if r in settings.roles)

    def roles_from_groups(self, groups: Iterable[str]) -> frozenset[str]:
        """Return the Sésame roles directory groups give (DNs compared in one spelling)."""
        mapped = {group_spelling(dn): role for dn, role in self.directory.groups.items()}
        return frozenset(mapped[group_spelling(g)] for g in groups if group_spelling(g) in mapped)


def group_spelling(dn: str) -> str:
    """Return a group's DN in one spelling (lower case, no spaces around `,` and `=`)."""
    return re.sub(r"\s*([,=])\s*", r"\1", dn.strip().lower())
