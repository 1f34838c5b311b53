"""A decision made signed in ("my requests" or the console): same rules as from the e-mail."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice.app import Request, Response

from ...domain.errors import InvalidDecision
from ...service.context import get_services
from ..context import chosen_lang, client_info, page_lang
from ..lazy import LazyModule, lazy_function
from ..pages import render_page
from ..session import Visitor, redirect, site_path
from .common import DECISIONS, first, form_or_empty

if TYPE_CHECKING:
    from ...domain.models import AccessRequest, Lang
    from ...service import console
    from ...service.decision_identity import verified_person
else:
    console = LazyModule("chalicelib.service.console")
    verified_person = lazy_function("chalicelib.service.decision_identity", "verified_person")


def decision_page(
    template: str,
    section: str,
    visitor: Visitor,
    request: AccessRequest,
    lang: Lang,
    error: str | None,
    comment: str,
    **context: Any,
) -> Response:
    """Render a request to decide signed in; a page showing a problem answers 400."""
    return render_page(
        template,
        lang,
        status=400 if error else 200,
        visitor=visitor,
        section=section,
        request=request,
        error=error,
        comment=comment,
        policy=get_services().policy,
        **context,
    )


def decide_signed_in(
    request: Request,
    visitor: Visitor,
    request_id: str,
    back: str,
    page: Callable[..., Response],
) -> Response:
    """Record the visitor's decision, then go back to `back`; on a problem, show `page` again."""
    services = get_services()
    form = form_or_empty(request)
    lang = page_lang(request)
    decision = DECISIONS.get(first(form, "decision"))
    comment = first(form, "comment")
    step = first(form, "step")
    if decision is None:
        return page(visitor, request_id, lang, error="decision_required", comment=comment)
    try:
        console.decide_in_console(
            services,
            request_id,
            int(step) if step.isdigit() else -1,
            visitor.email,
            decision,
            comment,
            client_info(request),
            chosen_lang=chosen_lang(request),
            # Who the provider vouched for in this session (issue 15): recorded with it.
            identity=verified_person(services, visitor.session),
            roles=visitor.roles,
        )
    except InvalidDecision as error:
        return page(visitor, request_id, lang, error=error.code, comment=comment)
    return redirect(site_path(services, f"{back}?done={decision}"))
