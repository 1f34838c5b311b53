"""The request form page: its choices from the policy, the typed values, and the errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chalice.app import Response

from ..domain.models import Lang
from ..domain.submission import FIELDS
from ..service.context import Services
from .pages import render_page
from .signing import issue

SUBMIT_PURPOSE = "submit"
SUBMIT_BINDING = "request-form"


def form_values(form: Mapping[str, Sequence[str]]) -> dict[str, object]:
    """Keep what the person typed, to show it again after an error."""
    values: dict[str, object] = {name: (form.get(name) or [""])[0] for name in FIELDS}
    values["platforms"] = [p for p in form.get("platforms", []) if isinstance(p, str)]
    return values


def form_page(
    services: Services,
    lang: Lang,
    *,
    values: Mapping[str, object] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
    remember_lang: bool = False,
) -> Response:
    """Render the form, empty or with values and errors, carrying a fresh one-time key."""
    policy = services.policy
    token = issue(
        services.settings.signing_secret, SUBMIT_PURPOSE, SUBMIT_BINDING, services.clock()
    )
    return render_page(
        "request_form.html",
        lang,
        status=status,
        remember_lang=remember_lang,
        policy=policy,
        values=values or {"platforms": []},
        errors=dict(errors or {}),
        form_token=token,
        field_order=FIELDS,
    )
