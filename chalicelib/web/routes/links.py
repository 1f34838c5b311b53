"""The routes e-mail links open: confirm, decide, name or cancel a deputy, follow a status.

A GET (or HEAD) shows what is asked and changes nothing (mail scanners fetch every link); the
change is a POST carrying the page's CSRF token, made when a person presses the button.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Response

from ...domain.errors import InvalidDecision
from ...service.context import get_services
from ..context import chosen_lang, client_info, page_lang
from ..lazy import LazyModule
from ..pages import render_page
from .answer_pages import answer_page, note_link_opened, signed_answer
from .common import DECISIONS, blueprint, csrf_for, link_form, link_post

if TYPE_CHECKING:
    from ...domain.models import Lang
    from ...domain.sessions import Session
    from ...service import link_views, undelegate
    from ...service.link_views import LinkView
else:
    # Imported on first use: serving the form needs none of these (cold start, issue 9); a use
    # case only one view calls is imported in that view.
    link_views = LazyModule("chalicelib.service.link_views")
    undelegate = LazyModule("chalicelib.service.undelegate")

bp, current, route = blueprint(__name__)


@route("/confirm/{token}", "GET", "HEAD")
def show_confirmation(token: str) -> Response:
    """Show what will be confirmed, with a button; never confirms by itself."""
    view = link_views.open_confirmation(get_services(), token, client_info(current()))
    _note_link_opened(view)
    return render_page(
        "confirm.html",
        page_lang(current()),
        request=view.request,
        csrf=csrf_for(token),
        policy=get_services().policy,
    )


@route("/confirm/{token}", "POST")
def confirm(token: str) -> Response:
    """Confirm the request (the requester pressed the button)."""
    from ...service.confirm import confirm_request

    request = current()
    link_form(request, token)  # only a page's own button confirms (its CSRF token)
    confirmed = confirm_request(get_services(), token, client_info(request))
    return render_page("confirmed.html", page_lang(request), request=confirmed)


@route("/decide/{token}", "GET", "HEAD")
def show_decision(token: str) -> Response:
    """Show the request exactly as it will be decided, with Approve and Refuse."""
    request = current()
    view = link_views.open_decision(get_services(), token, client_info(request))
    response = _decision_page(token, page_lang(request), view=view)
    _note_link_opened(view)
    return response


def _decision_page(
    token: str,
    lang: Lang,
    *,
    error: str | None = None,
    comment: str = "",
    status: int = 200,
    view: LinkView | None = None,
) -> Response:
    """Render the decision page; `view` is the link already opened (one read, not two)."""
    if view is None:
        view = link_views.open_decision(get_services(), token, client_info(current()))
    return answer_page(
        "decide.html",
        current(),
        lang,
        token,
        view,
        status=status,
        step_index=view.link.step,
        approver=view.link.approver,
        error=error,
        comment=comment,
    )


@route("/decide/{token}", "POST")
def decide(token: str) -> Response:
    """Record the approver's decision (the approver pressed a button)."""
    from ...service.decide import decide_step

    post = link_post(current(), token)
    decision = DECISIONS.get(post.field("decision"))
    comment = post.field("comment")
    if decision is None:
        return _decision_page(
            token, post.lang, error="decision_required", comment=comment, status=400
        )

    def decide_signed(session: Session | None) -> Response:
        try:
            decided = decide_step(
                get_services(),
                token,
                decision,
                comment,
                client_info(post.request),
                chosen_lang=chosen_lang(post.request),
                session=session,
            )
        except InvalidDecision as error:
            return _decision_page(token, post.lang, error=error.code, comment=comment, status=400)
        return render_page("decided.html", post.lang, request=decided, decision=decision)

    def again() -> Response:
        return _decision_page(token, post.lang, comment=comment, status=403)

    return signed_answer(post.request, post.lang, decide_signed, again)


@route("/delegate/{token}", "GET", "HEAD")
def show_delegation(token: str) -> Response:
    """Show the form naming a deputy (from an approval link; changes nothing)."""
    return _delegation_page(token, page_lang(current()), {}, None, 200)


def _delegation_page(
    token: str, lang: Lang, values: dict[str, str], error: str | None, status: int
) -> Response:
    from ...service.delegate import open_delegation

    view = open_delegation(get_services(), token, client_info(current()))
    return render_page(
        "delegate.html",
        lang,
        status=status,
        approver=view.link.approver,
        csrf=csrf_for(token),
        values=values,
        error=error,
    )


@route("/delegate/{token}", "POST")
def name_deputy(token: str) -> Response:
    """Record a deputy for a range of days (the approver pressed the button)."""
    from ...service.delegate import delegate, parse_day

    post = link_post(current(), token)
    values = {k: post.field(k) for k in ("deputy", "starts", "ends")}
    try:
        delegation, moved = delegate(
            get_services(),
            token,
            values["deputy"],
            parse_day(values["starts"]),
            parse_day(values["ends"]),
            client_info(post.request),
        )
    except InvalidDecision as error:
        return _delegation_page(token, post.lang, values, error.code, 400)
    return render_page("delegated.html", post.lang, delegation=delegation, moved=moved)


@route("/undelegate/{token}", "GET", "HEAD")
def show_cancellation(token: str) -> Response:
    """Show the delegation the approver's e-mailed link cancels, with a button (changes nothing)."""
    request = current()
    opened = undelegate.open_cancellation(get_services(), token, client_info(request))
    return render_page(
        "undelegate.html", page_lang(request), delegation=opened.delegation, csrf=csrf_for(token)
    )


@route("/undelegate/{token}", "POST")
def cancel_delegation(token: str) -> Response:
    """Cancel the delegation once (the approver pressed the button); their links come back."""
    request = current()
    link_form(request, token)  # only a page's own button cancels (its CSRF token)
    delegation, given_back = undelegate.cancel_by_link(get_services(), token, client_info(request))
    return render_page(
        "undelegated.html", page_lang(request), delegation=delegation, given_back=given_back
    )


@route("/status/{token}", "GET", "HEAD")
def status(token: str) -> Response:
    """Show a request's status and timeline to its requester (read-only)."""
    request = current()
    access_request, events = link_views.status_timeline(get_services(), token, client_info(request))
    return render_page(
        "status.html",
        page_lang(request),
        request=access_request,
        events=events,
        policy=get_services().policy,
    )


def _note_link_opened(view: LinkView) -> None:
    """Audit the opening of the link, sent to its approver (or, to confirm, to the requester)."""
    note_link_opened(
        current(), view, view.link.approver or view.request.content.email, view.link.step
    )
