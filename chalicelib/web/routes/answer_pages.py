"""What the pages of answer links share (a decision, a grant's review): sign-in, CSRF, audit.

A GET of such a link shows the request and its buttons and changes nothing but the audit of
the opening; where the policy wants a provider's sign-in first, the page asks for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice.app import Request, Response

from ...domain.errors import DomainError
from ...service.context import get_services
from ..context import client_info
from ..lazy import LazyModule, lazy_function
from ..pages import render_page
from ..session import read_cookie
from .common import csrf_for

if TYPE_CHECKING:
    from ...domain import decider
    from ...domain.models import Lang
    from ...domain.sessions import Session
    from ...service import console
    from ...service.decision_identity import decisions_need_sign_in, verified_person
    from ...service.link_views import LinkView
    from ...service.signin import current_session
else:
    # Imported on first use: serving the form needs none of these (cold start, issue 9).
    console = LazyModule("chalicelib.service.console")
    decider = LazyModule("chalicelib.domain.decider")  # its refusals, raised by an answer
    decisions_need_sign_in = lazy_function(
        "chalicelib.service.decision_identity", "decisions_need_sign_in"
    )
    verified_person = lazy_function("chalicelib.service.decision_identity", "verified_person")
    current_session = lazy_function("chalicelib.service.signin", "current_session")

log = logging.getLogger("sesame")


def answer_page(
    template: str,
    http: Request,
    lang: Lang,
    token: str,
    view: LinkView,
    *,
    status: int = 200,
    **context: Any,
) -> Response:
    """Render an answer link's page: its request, its buttons, a sign-in first when wanted."""
    services = get_services()
    # Issue 15: the link says which request, a provider sign-in says who answers.
    session = current_session(services, read_cookie(http, services.settings))
    sign_in_first = decisions_need_sign_in(services) and verified_person(services, session) is None
    return render_page(
        template,
        lang,
        status=status,
        token=token,
        sign_in_first=sign_in_first,
        pressed=status == 403,  # an answer pressed before the sign-in: say why nothing changed
        request=view.request,
        csrf=csrf_for(token),
        policy=services.policy,
        **context,
    )


def signed_answer(
    http: Request,
    lang: Lang,
    answer: Callable[[Session | None], Response],
    again: Callable[[], Response],
) -> Response:
    """Answer with the visitor's session; a refusal of who answers changes nothing, says why.

    Without the sign-in the policy wants, the page comes `again`, with its sign-in button (not a
    303 to the provider: the CSP's form-action 'self' rightly stops a form's redirect to another
    origin). Someone else's link (a forwarded e-mail) says who is signed in; the use case audits
    the attempt.
    """
    services = get_services()
    session = current_session(services, read_cookie(http, services.settings))
    try:
        return answer(session)
    except decider.SignInRequired:
        return again()
    except decider.NotTheLinksApprover as refused:
        return render_page(
            "identity/other_person.html", lang, status=403, email=refused.signed_in_as
        )


def note_link_opened(http: Request, view: LinkView, person: str, step: int | None) -> None:
    """Audit a GET of an e-mail link (who it was sent to, from where); HEAD is not recorded.

    Opening changes nothing else; a failure to record it never breaks the page. The chain's
    head read with the link saves a read.
    """
    if http.method != "GET":
        return
    try:
        console.link_opened(
            get_services(), view.request, person, step, client_info(http), head=view.head
        )
    except DomainError as error:
        log.warning("link opening not audited: %s", error)
