"""Who is who: e-mail addresses compared as the same person despite case and +tags."""

from __future__ import annotations


def person_key(email: str) -> str:
    """Return the canonical form of an address: lower case, without a +tag in the local part."""
    local, _, domain = email.strip().lower().partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def same_person(first: str, second: str) -> bool:
    """Tell whether two addresses reach the same person."""
    return person_key(first) == person_key(second)
