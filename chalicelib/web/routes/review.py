"""The manager's review link of a long grant (issue 17): Keep it, or End it.

Like the decision links: a GET (or HEAD) shows the grant and two buttons and changes nothing
(mail scanners fetch every link); the answer is a POST carrying the page's CSRF token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Response

from ...service.context import get_services
from ..context import client_info, page_lang
from ..lazy import LazyModule, lazy_function
from ..pages import render_page
from ..session import read_cookie
from .answer_pages import answer_page, note_link_opened
from .common import blueprint, first, link_form

if TYPE_CHECKING:
    from ...domain import decider
    from ...domain.models import Lang
    from ...service import review
    from ...service.link_views import LinkView
    from ...service.signin import current_session
else:
    # Imported on first use: serving the form needs none of these (cold start, issue 9).
    decider = LazyModule("chalicelib.domain.decider")  # its refusals, raised by an answer
    review = LazyModule("chalicelib.service.review")
    current_session = lazy_function("chalicelib.service.signin", "current_session")

bp, current, route = blueprint(__name__)
ANSWERS = {"keep": "keep", "end": "end"}


def _page(
    token: str,
    lang: Lang,
    *,
    error: bool = False,
    status: int = 200,
    view: LinkView | None = None,
) -> Response:
    """Render the review page; `view` is the link already opened (one read, not two)."""
    http = current()
    if view is None:
        view = review.open_review(get_services(), token, client_info(http))
    return answer_page(
        "review.html",
        http,
        lang,
        token,
        view,
        status=400 if error else status,
        manager=view.link.approver,
        answer_by=view.link.expires_at,
        error=error,
    )


@route("/review/{token}", "GET", "HEAD")
def show_review(token: str) -> Response:
    """Show the grant under review with Keep and End; never answers by itself."""
    http = current()
    view = review.open_review(get_services(), token, client_info(http))
    response = _page(token, page_lang(http), view=view)
    note_link_opened(http, view, view.link.approver or "", None)  # as the other links' openings
    return response


@route("/review/{token}", "POST")
def answer(token: str) -> Response:
    """Record the manager's Keep or End (the manager pressed a button)."""
    http = current()
    form = link_form(http, token)
    lang, services = page_lang(http), get_services()
    choice = ANSWERS.get(first(form, "answer"))
    if choice is None:
        return _page(token, lang, error=True)
    session = current_session(services, read_cookie(http, services.settings))
    try:
        answered = review.answer_review(
            services, token, "keep" if choice == "keep" else "end", client_info(http), session
        )
    except decider.SignInRequired:
        # Nothing changed: the page again, with its sign-in button (as the decision page).
        return _page(token, lang, status=403)
    except decider.NotTheLinksApprover as refused:
        return render_page(
            "identity/other_person.html", lang, status=403, email=refused.signed_in_as
        )
    return render_page("reviewed.html", lang, request=answered, answer=choice)
