"""The console's integrity page: the audit log against its signed digests; "digest now"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Response

from ...service.context import get_services
from ..context import client_info, page_lang
from ..lazy import LazyModule
from ..pages import render_page
from ..session import Visitor, redirect, signed_in, site_path
from .common import blueprint, form_or_empty

if TYPE_CHECKING:
    from ...service import audit_console
else:
    # Imported on first use: the check needs the KMS and S3 clients, the form none of it.
    audit_console = LazyModule("chalicelib.service.audit_console")

bp, current, route = blueprint(__name__)
officer = signed_in(current, form_or_empty, officers_only=True)
DONE = ("written", "asked")


@route("/console/audit/verify")
@officer
def console_verify(visitor: Visitor) -> Response:
    """Check the chain, the digests and the requests, and say intact or the first failure."""
    verdict = audit_console.integrity()
    params = current().query_params
    done = str(params.get("done", "")) if params else ""
    return render_page(
        "console/verify.html",
        page_lang(current()),
        visitor=visitor,
        section="audit",
        verdict=verdict,
        done=done if done in DONE else "",
    )


@route("/console/audit/digest", "POST")
@officer
def console_digest(visitor: Visitor) -> Response:
    """Write a digest of the chain now (or ask the digest function); audited."""
    services = get_services()
    outcome = audit_console.digest_now(services, visitor.email, client_info(current()))
    return redirect(site_path(services, f"/console/audit/verify?done={outcome}"))
