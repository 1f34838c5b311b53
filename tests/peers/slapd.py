"""A real OpenLDAP slapd for the whole test session: started once on 127.0.0.1, stopped at the end.

Never skipped: a machine without slapd fails here with the command that provisions it
(`make peer-slapd`, which `make integration` runs first).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_stack.ldap_process import (
    GROUPS_DN,
    PEOPLE_DN,
    PLACEHOLDER_DN,
    SERVICE_DN,
    SERVICE_PASSWORD,
    SlapdProcess,
)


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlapdProcess]:
    """Run slapd, seeded from local_stack/ldap/seed.ldif, for the whole session."""
    with SlapdProcess(tmp_path_factory.mktemp("slapd")) as server:
        yield server


def ldap_settings(url: str, **overrides: object) -> dict[str, object]:
    """Return LdapSettings fields for the seeded directory at `url` (Sésame's service account)."""
    values: dict[str, object] = {
        "url": url,
        "bind_dn": SERVICE_DN,
        "bind_password": SERVICE_PASSWORD,
        "people_base_dn": PEOPLE_DN,
        "groups_base_dn": GROUPS_DN,
        "placeholder_member_dn": PLACEHOLDER_DN,
        "connect_timeout_s": 1.0,
        "receive_timeout_s": 1,
    }
    values.update(overrides)
    return values
