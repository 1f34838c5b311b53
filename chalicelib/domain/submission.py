"""Validate a filed form into request content, or say what is wrong with each field."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .models import RequestContent
from .people import same_person
from .policy import Policy, Routing
from .text import normalise_text, unsafe_text

EMAIL_RE = re.compile(r"^[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")
MAX_SHORT_TEXT = 120
MAX_ORGANIZATION = 160
MAX_EMAIL = 254


@dataclass(frozen=True)
class SubmissionResult:
    """Either valid content, or an error code per field (never both); and what applies."""

    content: RequestContent | None
    errors: dict[str, str] = field(default_factory=dict)
    routing: Routing | None = None
    pinned_manager: str | None = None


def address_well_formed(value: str) -> bool:
    """Tell whether text is exactly one bare address (no display name, list or control char)."""
    return len(value) <= MAX_EMAIL and EMAIL_RE.fullmatch(value) is not None


def check_address(raw: str, policy: Policy) -> tuple[str, str | None]:
    """Return a typed address as stored (NFC, trimmed, lower case) and what is wrong with it.

    The one check of every address people type (the form's, a deputy's): the error is
    "required", "invalid_email" or "domain_not_allowed", or None when the address may be used.
    """
    value = normalise_text(raw).strip().lower()
    if not value:
        return value, "required"
    if not address_well_formed(value):
        return value, "invalid_email"
    if not policy.email_domain_allowed(value):
        return value, "domain_not_allowed"
    return value, None


@dataclass
class _FormCheck:
    """One filed form checked field by field against the policy, one error code per field."""

    form: Mapping[str, Sequence[str]]
    policy: Policy
    errors: dict[str, str] = field(default_factory=dict)

    def single(self, name: str) -> str:
        """Return a field's first value, normalised and trimmed ("" when absent)."""
        values = self.form.get(name) or [""]
        return normalise_text(values[0]).strip()

    def text(self, name: str, max_len: int) -> str:
        """Return a required one-line text field."""
        value = self.single(name)
        if not value:
            self.errors[name] = "required"
        elif len(value) > max_len:
            self.errors[name] = "too_long"
        elif unsafe_text(value, multiline=False):
            self.errors[name] = "invalid_characters"
        return value

    def email(self, name: str) -> str:
        """Return a required address field, as stored."""
        value, problem = check_address((self.form.get(name) or [""])[0], self.policy)
        if problem:
            self.errors[name] = problem
        return value

    def choices(self) -> tuple[list[str], str, str]:
        """Return the chosen platforms, purpose and level, each one of the catalogue's."""
        catalogue = self.policy.catalogue
        platform_ids = {p.id for p in catalogue.platforms}
        chosen = list(dict.fromkeys(v.strip() for v in self.form.get("platforms", []) if v.strip()))
        if not chosen:
            self.errors["platforms"] = "required"
        elif len(chosen) > len(platform_ids) or any(p not in platform_ids for p in chosen):
            self.errors["platforms"] = "unknown_choice"
        picked = {}
        for name, entries in (("purpose", catalogue.purposes), ("level", catalogue.levels)):
            picked[name] = self.single(name)
            if not picked[name]:
                self.errors[name] = "required"
            elif picked[name] not in {entry.id for entry in entries}:
                self.errors[name] = "unknown_choice"
        return chosen, picked["purpose"], picked["level"]

    def justification(self, routing: Routing | None) -> str:
        """Return the justification, as long as the route (or, unknown, any route) asks."""
        value = self.single("justification")
        minimum = routing.min_justification_chars if routing else min_justification(self.policy)
        if not value:
            self.errors["justification"] = "required"
        elif len(value) < minimum:
            self.errors["justification"] = "too_short"
        elif len(value) > self.policy.rules.max_justification_chars:
            self.errors["justification"] = "too_long"
        elif unsafe_text(value, multiline=True):
            self.errors["justification"] = "invalid_characters"
        return value

    def duration(self, routing: Routing | None) -> int:
        """Return the days of access asked for, within the route's (or any route's) maximum."""
        raw = self.single("duration_days")
        if not raw:
            self.errors["duration_days"] = "required"
            return 0
        if not raw.isascii() or not raw.isdigit() or len(raw) > 4:
            self.errors["duration_days"] = "not_a_number"
            return 0
        duration = int(raw)
        maximum = routing.max_duration_days if routing else max_duration(self.policy)
        if not 1 <= duration <= maximum:
            self.errors["duration_days"] = "out_of_range"
        return duration


def validate_submission(
    form: Mapping[str, Sequence[str]], policy: Policy, pinned_manager: str | None = None
) -> SubmissionResult:
    """Check every field of the request form against the policy; collect one error per field.

    `pinned_manager` is the manager the directory names for the requester (issue 15); it
    replaces a typed one, as directory.toml's does.
    """
    check = _FormCheck(form, policy)
    errors = check.errors
    name = check.text("name", MAX_SHORT_TEXT)
    email = check.email("email")
    organization = check.text("organization", MAX_ORGANIZATION)
    pinned = (pinned_manager or policy.pinned_manager(email)) if "email" not in errors else None
    manager_email = pinned or check.email("manager_email")
    if (
        "email" not in errors
        and "manager_email" not in errors
        and same_person(email, manager_email)
    ):
        errors["manager_email"] = "same_as_requester"
    platforms, purpose, level = check.choices()
    routing = (
        policy.route_for(tuple(platforms), level)
        if "platforms" not in errors and "level" not in errors
        else None
    )
    justification = check.justification(routing)
    duration = check.duration(routing)
    if check.single("accept_policy") not in {"yes", "on"}:
        errors["accept_policy"] = "required"
    elif check.single("policy_version") not in {"", policy.version}:
        errors["accept_policy"] = "policy_changed"

    if errors:
        return SubmissionResult(None, errors, routing, pinned)
    content = RequestContent(
        name=name,
        email=email,
        organization=organization,
        manager_email=manager_email,
        platforms=tuple(platforms),
        purpose=purpose,
        level=level,
        justification=justification,
        duration_days=duration,
        policy_version=policy.version,
    )
    return SubmissionResult(content, {}, routing, pinned)


def min_justification(policy: Policy) -> int:
    """Return the smallest minimum justification of any route (before a selection is known)."""
    return min(r.min_justification_chars for r in policy.rules.routes)


def max_duration(policy: Policy) -> int:
    """Return the longest maximum duration of any route (before a selection is known)."""
    return max(r.max_duration_days for r in policy.rules.routes)
