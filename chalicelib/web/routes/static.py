"""The stylesheet and the one script, served by the app (no inline code: the CSP forbids it)."""

from __future__ import annotations

from chalice.app import Response

from ...domain.errors import NotFound
from ...settings import PROJECT_ROOT
from .common import blueprint

bp, _, route = blueprint(__name__)
STATIC_DIR = PROJECT_ROOT / "templates" / "static"
STATIC_TYPES = {
    "site.css": "text/css; charset=utf-8",
    "preview.js": "text/javascript; charset=utf-8",
}


@route("/static/{name}")
def static_file(name: str) -> Response:
    """Serve the stylesheet and the one script."""
    if name not in STATIC_TYPES:
        raise NotFound("static file")
    return Response(
        body=(STATIC_DIR / name).read_text(encoding="utf-8"),
        headers={"Content-Type": STATIC_TYPES[name], "Cache-Control": "public, max-age=3600"},
    )
