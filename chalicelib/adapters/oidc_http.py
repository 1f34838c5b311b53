"""The HTTP calls of the OpenID Connect client: standard library, a timeout, JSON answers."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

from chalicelib.domain.identity import SignInFailure, SignInRefused

MAX_BODY_BYTES = 512 * 1024  # a discovery document or a key set is a few kilobytes

# (method, url, form or None, timeout) -> (status, body): tests wrap it to count calls.
Transport = Callable[[str, str, Mapping[str, str] | None, float], tuple[int, bytes]]


def is_loopback(host: str) -> bool:
    """Tell whether a host name is this machine (where plain HTTP is acceptable)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str) -> str:
    """Refuse any URL that is not HTTPS, except on loopback (the local provider)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return url
    raise SignInRefused(SignInFailure.WRONG_ISSUER, f"{what} is not an https URL: {url[:100]}")


def urllib_transport(
    method: str, url: str, form: Mapping[str, str] | None, timeout: float
) -> tuple[int, bytes]:
    """Send one request with the standard library; an HTTP error status is returned, not raised."""
    data = urlencode(form).encode("ascii") if form is not None else None
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    checked = check_url(url, "endpoint")
    request = Request(checked, data=data, method=method, headers=headers)  # noqa: S310
    try:
        # The scheme was checked just above (https, or http on loopback only).
        with urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
            return int(response.status), bytes(response.read(MAX_BODY_BYTES))
    except HTTPError as error:
        with error:
            return int(error.code), bytes(error.read(MAX_BODY_BYTES))
    except (URLError, TimeoutError, ConnectionError) as error:
        raise SignInRefused(SignInFailure.PROVIDER_UNREACHABLE, f"{url[:100]}: {error}") from error


def json_object(status: int, body: bytes, url: str) -> dict[str, Any]:
    """Decode a JSON object answer; a server error or garbage means the provider is unwell."""
    if status >= 500:
        raise SignInRefused(SignInFailure.PROVIDER_UNREACHABLE, f"{url[:100]}: HTTP {status}")
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise SignInRefused(
            SignInFailure.PROVIDER_UNREACHABLE, f"{url[:100]}: HTTP {status}, not JSON"
        ) from error
    if not isinstance(value, dict):
        raise SignInRefused(SignInFailure.PROVIDER_UNREACHABLE, f"{url[:100]}: not an object")
    return value
