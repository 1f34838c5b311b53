"""The request form page: its choices from the policy, the typed values, errors and preview."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..domain.form_view import FIELDS
from ..rendering.i18n import Translator
from ..rendering.labels import role_labeller
from .pages import render_page
from .signing import issue

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from chalice.app import Response

    from ..domain.awareness import Completion
    from ..domain.form_view import Bounds
    from ..domain.models import AccessRequest, Lang
    from ..domain.policy import Policy, Routing
    from ..domain.submission import SubmissionResult
    from ..service.context import Services

SUBMIT_PURPOSE = "submit"
SUBMIT_BINDING = "request-form"


@dataclass(frozen=True)
class Preview:
    """Who will approve, in order, and the bounds that apply, as people read them."""

    steps: tuple[str, ...]
    max_duration_days: int
    min_justification_chars: int
    # The requester's pass when it gives this selection the trained path (issue 17).
    trained: Completion | None = None


def form_values(form: Mapping[str, Sequence[str]]) -> dict[str, object]:
    """Keep what the person typed, to show it again after an error."""
    values: dict[str, object] = {name: (form.get(name) or [""])[0] for name in FIELDS}
    values["platforms"] = [p for p in form.get("platforms", []) if isinstance(p, str)]
    # A renewal carries its link's token (checked again at submission) and, for display only,
    # the reference of the request it renews.
    values["renew"] = (form.get("renew") or [""])[0][:64]
    values["renew_reference"] = (form.get("renew_reference") or [""])[0][:8]
    # A pass of the module taken without a sign-in (issue 17), signed: checked at submission.
    values["held_pass"] = (form.get("held_pass") or [""])[0][:2000]
    values["held_seal"] = (form.get("held_seal") or [""])[0][:200]
    return values


def renewal_values(request: AccessRequest, token: str) -> dict[str, object]:
    """Fill the form from the request being renewed (the person checks and sends it again)."""
    content = request.content
    return {
        "name": content.name,
        "email": content.email,
        "organization": content.organization,
        "manager_email": content.manager_email,
        "platforms": list(content.platforms),
        "purpose": content.purpose,
        "level": content.level,
        "justification": content.justification,
        "duration_days": str(content.duration_days),
        "accept_policy": "",
        "renew": token,
        "renew_reference": request.reference,
    }


def approver_preview(
    policy: Policy, lang: Lang, routing: Routing | None, manager: str | None
) -> Preview | None:
    """Name each step of the chain that applies (None until platforms and level are chosen)."""
    if routing is None:
        return None
    from ..domain.catalogue import MANAGER  # a chosen route: the policy's models are loaded

    label = role_labeller(policy, Translator(lang))
    steps = tuple(
        f"{label(role)} ({manager})" if role == MANAGER and manager else label(role)
        for role in routing.chain
    )
    return Preview(steps, routing.max_duration_days, routing.min_justification_chars)


def preview_note(preview: Preview | None, lang: Lang) -> str:
    """Return the sentence under the preview (bounds, or what to choose first)."""
    t = Translator(lang)
    if preview is None:
        return t("preview.empty")
    return t(
        "preview.bounds",
        days=preview.max_duration_days,
        min=preview.min_justification_chars,
    )


def form_page(
    services: Services,
    lang: Lang,
    *,
    values: Mapping[str, object] | None = None,
    errors: Mapping[str, str] | None = None,
    result: SubmissionResult | None = None,
    status: int = 200,
    remember_lang: bool = False,
    trained: Completion | None = None,
    signed_in_as: str | None = None,
    directory_manager: str | None = None,
) -> Response:
    """Render the form, empty or with values, errors and preview, carrying a fresh one-time key.

    `signed_in_as`: the address a provider's sign-in proved (shown, not asked);
    `directory_manager`: the manager the directory names for it (shown, not asked).
    """
    shown = services.form_policy()
    token = issue(
        services.settings.signing_secret, SUBMIT_PURPOSE, SUBMIT_BINDING, services.clock()
    )
    routing = result.routing if result else None
    content = result.content if result else None
    shorter = (
        services.policy.route_for(content.platforms, content.level, trained=True)
        if trained and content
        else None
    )
    if shorter is not None and shorter.trained_path:
        routing = shorter
    else:
        trained = None
    pinned = result.pinned_manager if result else None
    typed_manager = directory_manager or str((values or {}).get("manager_email") or "") or None
    bounds: Routing | Bounds = routing or shown.bounds
    return render_page(
        "request_form.html",
        lang,
        status=status,
        remember_lang=remember_lang,
        policy=shown,
        values=values or {"platforms": []},
        errors=dict(errors or {}),
        form_token=token,
        field_order=FIELDS,
        bounds=bounds,
        pinned_manager=pinned,
        signed_in_as=signed_in_as,
        directory_manager=directory_manager,
        # A preview needs a route, so the policy itself: never on the empty form.
        preview=_with_pass(
            approver_preview(services.policy, lang, routing, pinned or typed_manager), trained
        )
        if routing is not None
        else None,
    )


def _with_pass(preview: Preview | None, trained: Completion | None) -> Preview | None:
    if preview is None or trained is None:
        return preview
    return Preview(
        preview.steps, preview.max_duration_days, preview.min_justification_chars, trained
    )
