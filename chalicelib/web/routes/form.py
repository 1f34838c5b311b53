"""The requester's routes: the request form, its preview, filing, and renewal."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TypedDict

from chalice.app import Request, Response

from ...domain.errors import LimitReached
from ...service.context import Services, get_services
from ..context import client_info, lang_chosen_explicitly, page_lang
from ..forms import BadForm
from ..lazy import lazy_function
from ..pages import render_page
from ..request_form import (
    SUBMIT_BINDING,
    SUBMIT_PURPOSE,
    approver_preview,
    form_page,
    form_values,
    preview_note,
    renewal_values,
)
from ..session import read_cookie
from ..trust_pages import carried_form, carry_of, held_pass
from .common import blueprint, first, form_key, json_response, read_form
from .trust import awareness_page, work_address

if TYPE_CHECKING:
    from ...domain.awareness import Completion, person_ref
    from ...domain.models import Lang
    from ...domain.sessions import Session
    from ...service.awareness import trained_pass
    from ...service.directory_lookup import manager_for
    from ...service.link_views import open_renewal
    from ...service.preview import preview_submission
    from ...service.signin import current_session
    from ...service.submit import submit_request
else:
    # Imported on first use: serving the empty form needs none of these (cold start, issue 9).
    trained_pass = lazy_function("chalicelib.service.awareness", "trained_pass")
    open_renewal = lazy_function("chalicelib.service.link_views", "open_renewal")
    preview_submission = lazy_function("chalicelib.service.preview", "preview_submission")
    submit_request = lazy_function("chalicelib.service.submit", "submit_request")
    # A session is read only when the request carries its cookie (issue 15).
    current_session = lazy_function("chalicelib.service.signin", "current_session")
    manager_for = lazy_function("chalicelib.service.directory_lookup", "manager_for")
    # The awareness models are pydantic's: defined when a request is filed, not for the form.
    person_ref = lazy_function("chalicelib.domain.awareness", "person_ref")

bp, current, route = blueprint(__name__)


@route("/", "GET", "HEAD")
def request_form() -> Response:
    """Show the empty request form."""
    request = current()
    services = get_services()
    return form_page(
        services,
        page_lang(request),
        remember_lang=lang_chosen_explicitly(request),
        **_signed_in_fields(services, _proven_session(services, request)),
    )


def _proven_session(services: Services, request: Request) -> Session | None:
    """The session of a provider's sign-in (it proves the address), or None (issue 15)."""
    cookie = read_cookie(request, services.settings)
    session = current_session(services, cookie) if cookie else None
    return session if session is not None and session.identity is not None else None


class Shown(TypedDict, total=False):
    """What the form shows a signed-in requester instead of asking."""

    signed_in_as: str | None
    directory_manager: str | None


def _signed_in_fields(services: Services, session: Session | None) -> Shown:
    """The address and the directory's manager a signed-in requester is shown, not asked."""
    if session is None:
        return {}
    choice = manager_for(services, session.email)
    return {"signed_in_as": session.email, "directory_manager": choice.manager_email}


@route("/", "POST")
def file_request() -> Response:
    """File a request, or show the form again (switched language, preview, or what is wrong)."""
    request = current()
    services = get_services()
    try:
        form = read_form(request)
    except BadForm as error:
        return form_page(services, page_lang(request), errors={"form": error.code}, status=400)
    lang = page_lang(request, first(form, "lang"))
    values = form_values(form)
    action = first(form, "action")
    session = _proven_session(services, request)
    if action == "resume":
        # Back from the awareness module: the form again, with what the person had typed.
        carried = carried_form(services, first(form, "carry"), first(form, "seal"))
        if carried is None:
            return form_page(services, lang, errors={"form": "expired"}, status=400)
        # The preview then explains the path the pass gives (the form's script keeps the
        # shorter one only until a choice changes; the filed request says what applies).
        carried = {**carried, "held_pass": form.get("held_pass", []),
                   "held_seal": form.get("held_seal", [])}  # fmt: skip
        found = preview_submission(services, carried)
        return form_page(
            services, lang, values=form_values(carried), result=found,
            trained=_pass_of(services, carried),
        )  # fmt: skip
    if action in ("lang:fr", "lang:en", "preview"):
        # The language switch and the preview re-send the form: show it again, values kept.
        chosen: Lang = "fr" if action == "lang:fr" else "en" if action == "lang:en" else lang
        result = preview_submission(services, form)
        return form_page(
            services,
            chosen,
            values=values,
            result=result,
            remember_lang=action != "preview",
            **_signed_in_fields(services, session),
        )
    return _submit(services, request, form, values, lang, session)


def _submit(
    services: Services,
    request: Request,
    form: dict[str, list[str]],
    values: dict[str, object],
    lang: Lang,
    session: Session | None = None,
) -> Response:
    shown = _signed_in_fields(services, session)
    key = form_key(form, SUBMIT_PURPOSE, SUBMIT_BINDING)
    if key is None:
        return form_page(
            services, lang, values=values, errors={"form": "expired"}, status=400, **shown
        )
    if _untrained(services, form):
        # Nothing is stored yet: what was typed rides the module's pages, signed, then returns.
        email = first(form, "email").strip()
        return awareness_page(services, lang, email=email, carry=carry_of(form))
    renew_token = first(form, "renew")
    renews = open_renewal(services, renew_token, client_info(request)) if renew_token else None
    # Signed in, the pass must be of the session's address, whatever the form says.
    held = _held(services, {**form, "email": [session.email]} if session else form)
    try:
        # With a session the sign-in proved the address: filed confirmed, no e-mail round trip.
        outcome = submit_request(
            services, form, key, lang, client_info(request), renews, held, session
        )
    except LimitReached as limit:
        # The per-source limit's message lives in the [limits] table of the catalogues.
        code = "limits.submit_source" if limit.limit == "source" else f"limit_{limit.limit}"
        return form_page(services, lang, values=values, errors={"form": code}, status=429, **shown)
    if outcome.errors:
        return form_page(
            services,
            lang,
            values=values,
            errors=outcome.errors,
            result=outcome.result,
            status=429 if outcome.limited else 400,
            **shown,
        )
    return render_page(
        "submitted.html",
        lang,
        request=outcome.request,
        duplicate=outcome.duplicate,
        policy=services.policy,
        signed_in=session is not None,
    )


def _untrained(services: Services, form: dict[str, list[str]]) -> bool:
    """Tell whether the policy wants the module first and this address has no valid pass."""
    module = services.policy.awareness
    if module is None or not module.required_before_request:
        return False
    email = work_address(services, first(form, "email"))
    # A mistyped address gets the form's own message first; the module comes after.
    return email is not None and _pass_of(services, form) is None


def _held(services: Services, form: dict[str, list[str]]) -> Completion | None:
    """The pass taken without a sign-in that the form carries, when genuine and of its address."""
    email = work_address(services, first(form, "email"))
    if email is None:
        return None
    return held_pass(services, first(form, "held_pass"), first(form, "held_seal"), email)


def _pass_of(services: Services, form: dict[str, list[str]]) -> Completion | None:
    """The typed address's pass: the one the form carries, else the one recorded for it."""
    email = work_address(services, first(form, "email"))
    if email is None:
        return None
    return _held(services, form) or trained_pass(services, person_ref(email))


@route("/renew/{token}", "GET", "HEAD")
def renewal_form(token: str) -> Response:
    """Show the request form filled in from an ending or expired request (a renewal)."""
    request = current()
    services = get_services()
    renewed = open_renewal(services, token, client_info(request))
    lang = page_lang(request) if lang_chosen_explicitly(request) else renewed.lang
    return form_page(services, lang, values=renewal_values(renewed, token))


@route("/preview.json")
def preview_json() -> Response:
    """Return who will approve the selection given in the query (the form's script asks)."""
    request = current()
    params = request.query_params
    form = {name: params.getlist(name) for name in params} if params else {}
    services = get_services()
    lang = page_lang(request)
    result = preview_submission(services, form)
    typed = first(form, "manager_email").strip().lower() or None
    preview = approver_preview(
        services.policy, lang, result.routing, result.pinned_manager or typed
    )
    body = {
        "steps": list(preview.steps) if preview else [],
        "max_duration_days": preview.max_duration_days if preview else None,
        "note": preview_note(preview, lang),
    }
    return json_response(json.dumps(body, ensure_ascii=False))
