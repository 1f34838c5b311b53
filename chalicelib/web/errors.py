"""The one mapping from domain errors to pages and status codes (views raise, this answers)."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable
from typing import Any, ParamSpec

from chalice.app import Request, Response

from ..domain import errors as domain_errors
from ..rendering.i18n import catalogue
from .context import page_lang
from .forms import BadForm, CsrfRefused
from .pages import render_page

log = logging.getLogger("sesame")
P = ParamSpec("P")
RETRY_AFTER_SECONDS = "5"

# (error class, status, problem shown on the page)
_PROBLEMS: tuple[tuple[type[Exception], int, str], ...] = (
    (domain_errors.NotFound, 404, "not_found"),
    (domain_errors.LinkExpired, 410, "expired"),
    (domain_errors.Withdrawn, 410, "withdrawn"),
    (domain_errors.RequestExpired, 410, "request_expired"),
    (domain_errors.Escalated, 410, "escalated"),
    (domain_errors.LinkUsed, 409, "used"),
    (domain_errors.LinkStale, 409, "stale"),
    (domain_errors.AlreadyDecided, 409, "already_decided"),
    (domain_errors.InvalidTransition, 409, "invalid"),
    (domain_errors.Conflict, 409, "conflict"),
    (domain_errors.NotAnApprover, 403, "forbidden"),
    (domain_errors.ServiceUnavailable, 503, "unavailable"),
    (domain_errors.LimitReached, 429, "too_many"),
    (domain_errors.Delegated, 409, "delegated"),
    # The web's own: a body that is not a form, a form without its page's token.
    (BadForm, 400, "bad_form"),
    (CsrfRefused, 403, "csrf"),
)


def _problem_page(request: Request, error: Exception, status: int, problem: str) -> Response:
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else {}
    if status == 429:
        headers = {"Retry-After": "3600"}
    decided: dict[str, Any] = {}
    if isinstance(error, domain_errors.AlreadyDecided):
        decided = {
            "decided_by": error.decided_by,
            "decided_at": error.decided_at,
            "outcome": error.outcome,
        }
    if isinstance(error, domain_errors.Delegated):
        decided = {"deputy": error.deputy, "until": error.until}
    if isinstance(error, domain_errors.NotAnApprover):
        # A duty rule the visitor can read about; other refusals say nothing more (no leak).
        # Rules added later have their text in a table of their own (authority.duty).
        keys = (f"duty.{error.reason}", f"authority.duty.{error.reason}")
        known = [key for key in keys if catalogue("fr").get(key)]
        if known:
            decided = {"reason_key": known[0]}
    return render_page(
        "problem.html",
        page_lang(request),
        status=status,
        headers=headers,
        problem=problem,
        **decided,
    )


def handles_errors(
    current_request: Callable[[], Request],
) -> Callable[[Callable[P, Response]], Callable[P, Response]]:
    """Wrap a view so every error becomes a page in the visitor's language, never a traceback."""

    def decorator(view: Callable[P, Response]) -> Callable[P, Response]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
            try:
                return view(*args, **kwargs)
            except Exception as error:
                request = current_request()
                for kind, status, problem in _PROBLEMS:
                    if isinstance(error, kind):
                        return _problem_page(request, error, status, problem)
                correlation_id = secrets.token_hex(6)
                log.exception("unhandled error (correlation id %s)", correlation_id)
                try:
                    return render_page(
                        "error.html",
                        page_lang(request),
                        status=500,
                        correlation_id=correlation_id,
                    )
                except Exception:
                    log.exception("error page failed (correlation id %s)", correlation_id)
                    return Response(
                        body=f"Erreur interne / Internal error ({correlation_id})",
                        status_code=500,
                        headers={"Content-Type": "text/plain; charset=utf-8"},
                    )

        return wrapper

    return decorator
