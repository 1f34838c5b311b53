"""What the empty request form shows of the policy, as plain data (no pydantic: cold start).

Named tuples rather than dataclasses: defining a dataclass costs a cold start ≈ 0.5 ms each.

Built from the validated policy (`form_view(policy)`) or from its validated snapshot read as
attributes (`adapters/policy_snapshot.py`), so the first `GET /` of a process never defines a
pydantic model (docs/performance.md#cold-start). Submitting still validates with the models.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# The form's fields, in the order they are shown and checked (domain/submission.py).
FIELDS = (
    "name",
    "email",
    "organization",
    "manager_email",
    "platforms",
    "purpose",
    "level",
    "justification",
    "duration_days",
    "accept_policy",
)


class Choice(NamedTuple):
    """A platform, purpose or access level the form offers, named in both languages."""

    id: str
    name_fr: str
    name_en: str

    def name(self, lang: str) -> str:
        """Return the name in the given language."""
        return self.name_fr if lang == "fr" else self.name_en


class FormCatalogue(NamedTuple):
    """The choices of the form, in the catalogue's order."""

    platforms: tuple[Choice, ...]
    purposes: tuple[Choice, ...]
    levels: tuple[Choice, ...]


class FormRules(NamedTuple):
    """The rule the form states before any choice (its textarea's bound)."""

    max_justification_chars: int


class FormOrganisation(NamedTuple):
    """The addresses the form accepts (named in its error message)."""

    allowed_email_domains: tuple[str, ...]


class Bounds(NamedTuple):
    """Duration and justification bounds, before a selection gives its route's own."""

    max_duration_days: int
    min_justification_chars: int


class FormPolicy(NamedTuple):
    """The policy as the request form shows it (the page's `policy`)."""

    version: str
    catalogue: FormCatalogue
    rules: FormRules
    organisation: FormOrganisation
    usage_text_fr: str
    usage_text_en: str
    # Before a selection: the longest duration and the smallest minimum of any route.
    bounds: Bounds
    # The policy has an awareness module: the form offers it (a shorter path once passed).
    awareness: bool = False

    def usage_policy_text(self, lang: str) -> str:
        """Return the usage policy text in a language."""
        return self.usage_text_fr if lang == "fr" else self.usage_text_en


def _choices(entries: Any) -> tuple[Choice, ...]:
    return tuple(Choice(str(e.id), str(e.name_fr), str(e.name_en)) for e in entries)


def form_view(policy: Any) -> FormPolicy:
    """Return what the form shows of a policy (a `Policy`, or its snapshot read as attributes).

    Raises AttributeError or TypeError when `policy` does not have a policy's shape.
    """
    usage = policy.organisation.usage_policy
    routes = tuple(policy.rules.routes)
    catalogue = policy.catalogue
    return FormPolicy(
        version=str(usage.version),
        catalogue=FormCatalogue(
            _choices(catalogue.platforms), _choices(catalogue.purposes), _choices(catalogue.levels)
        ),
        rules=FormRules(int(policy.rules.max_justification_chars)),
        organisation=FormOrganisation(
            tuple(str(d) for d in policy.organisation.allowed_email_domains)
        ),
        usage_text_fr=str(usage.text_fr),
        usage_text_en=str(usage.text_en),
        bounds=Bounds(
            max(int(r.max_duration_days) for r in routes),
            min(int(r.min_justification_chars) for r in routes),
        ),
        awareness=getattr(policy, "awareness", None) is not None,
    )
