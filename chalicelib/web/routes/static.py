"""The stylesheet and the one script, served by the app (no inline code: the CSP forbids it)."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from ...domain.errors import NotFound
from ...settings import PROJECT_ROOT
from ..errors import handles_errors
from .common import request_of

bp = Blueprint(__name__)
handled = handles_errors(request_of(bp))
STATIC_DIR = PROJECT_ROOT / "templates" / "static"
STATIC_TYPES = {
    "site.css": "text/css; charset=utf-8",
    "preview.js": "text/javascript; charset=utf-8",
}


@bp.route("/static/{name}", methods=["GET"])
@handled
def static_file(name: str) -> Response:
    """Serve the stylesheet and the one script."""
    if name not in STATIC_TYPES:
        raise NotFound("static file")
    return Response(
        body=(STATIC_DIR / name).read_text(encoding="utf-8"),
        headers={"Content-Type": STATIC_TYPES[name], "Cache-Control": "public, max-age=3600"},
    )
