"""The grants API for machines (the proxy's helper): JSON only, HTTP Basic on every call.

No HTML page, no session, no CSRF token: every answer, refusals included, is JSON (problem
details, RFC 9457, for errors); the security headers still come from `app.py`'s middleware.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from ...service.context import get_services
from .common import request_of

if TYPE_CHECKING:
    from ...service import grants_api
    from ...service.grants_api import ApiAnswer
    from ...service.openapi import openapi_document
else:
    from ..lazy import LazyModule, lazy_function

    # Imported on first call: serving the form needs none of this (cold start, issue 9).
    grants_api = LazyModule("chalicelib.service.grants_api")
    openapi_document = lazy_function("chalicelib.service.openapi", "openapi_document")

log = logging.getLogger("sesame")
bp = Blueprint(__name__)
current = request_of(bp)
JSON = "application/json"


def _response(answer: ApiAnswer) -> Response:
    """Turn a use case's answer into a response (304 has no body)."""
    headers: dict[str, str | list[str]] = {"Content-Type": JSON, **answer.headers}
    body = "" if answer.body is None else json.dumps(answer.body, ensure_ascii=False)
    return Response(body=body, status_code=answer.status, headers=headers)


def _guarded(view: Callable[[], ApiAnswer]) -> Response:
    """Run a view; anything unexpected is a JSON 500 with a correlation id, never a page."""
    try:
        return _response(view())
    except Exception:  # the one catch-all: the traceback goes to the log only
        correlation = secrets.token_hex(8)
        log.exception("api error %s", correlation)
        body = {
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": 500,
            "detail": f"correlation id {correlation}",
        }
        return Response(
            body=json.dumps(body),
            status_code=500,
            headers={"Content-Type": "application/problem+json"},
        )


def _authorization() -> str | None:
    return current().headers.get("authorization")


@bp.route("/api/v1/grants", methods=["GET"])
def api_grants() -> Response:
    """The active grants, one page; 304 when the If-None-Match names the current set."""

    def view() -> ApiAnswer:
        services = get_services()
        request = current()
        raw = request.query_params
        cursor = str(raw.get("cursor")) if raw and raw.get("cursor") is not None else None
        return grants_api.list_grants(
            services,
            grants_api.client_store(services),
            _authorization(),
            cursor=cursor,
            if_none_match=request.headers.get("if-none-match"),
        )

    return _guarded(view)


@bp.route("/api/v1/requests/{reference}", methods=["GET"])
def api_request(reference: str) -> Response:
    """A request's status and steps by its reference (no justification, no names)."""

    def view() -> ApiAnswer:
        services = get_services()
        return grants_api.request_status(
            services, grants_api.client_store(services), _authorization(), reference
        )

    return _guarded(view)


@bp.route("/api/v1/openapi.json", methods=["GET"])
def api_openapi() -> Response:
    """The OpenAPI 3.1 document of the API (public: it describes, it holds no data)."""
    return Response(
        body=json.dumps(openapi_document()),
        headers={"Content-Type": JSON, "Cache-Control": "public, max-age=300"},
    )
