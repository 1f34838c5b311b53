"""The manager's review link of a long grant (issue 17): Keep it, or End it.

Like the decision links: a GET (or HEAD) shows the grant and two buttons and changes nothing
(mail scanners fetch every link); the answer is a POST carrying the page's CSRF token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Response

from ...service.context import get_services
from ..context import client_info, page_lang
from ..lazy import LazyModule
from ..pages import render_page
from .answer_pages import answer_page, note_link_opened, signed_answer
from .common import blueprint, link_post

if TYPE_CHECKING:
    from ...domain.models import Lang
    from ...domain.sessions import Session
    from ...service import review
    from ...service.link_views import LinkView
else:
    # Imported on first use: serving the form needs none of these (cold start, issue 9).
    review = LazyModule("chalicelib.service.review")

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
    post = link_post(current(), token)
    choice = ANSWERS.get(post.field("answer"))
    if choice is None:
        return _page(token, post.lang, error=True)

    def answer_signed(session: Session | None) -> Response:
        answered = review.answer_review(
            get_services(),
            token,
            "keep" if choice == "keep" else "end",
            client_info(post.request),
            session,
        )
        return render_page("reviewed.html", post.lang, request=answered, answer=choice)

    def again() -> Response:
        return _page(token, post.lang, status=403)

    return signed_answer(post.request, post.lang, answer_signed, again)
