"""Security headers, applied to every response from one middleware."""

from __future__ import annotations

from collections.abc import MutableMapping

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
BASE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Pages carry tokens in their URL: never leak it to another site.
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=63072000; includeSubDomains"


def apply_security_headers(headers: MutableMapping[str, str | list[str]], *, local: bool) -> None:
    """Add the security headers a response lacks; pages default to no-store."""
    for name, value in BASE_HEADERS.items():
        headers.setdefault(name, value)
    headers.setdefault("Cache-Control", "no-store")
    if not local:
        headers.setdefault("Strict-Transport-Security", HSTS)
