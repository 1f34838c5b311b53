"""A real OpenLDAP slapd for the whole test session: started once on 127.0.0.1, stopped at the end.

Never skipped: a machine without slapd fails here with the command that provisions it
(`make peer-slapd`, which `make integration` runs first).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class TlsDirectory:
    """A slapd with a certificate for IP 127.0.0.1 signed by a CA of the test's own."""

    server: SlapdProcess
    ca_file: Path
    other_ca_file: Path


def make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    """Create a CA (certificate, key) with openssl; EC keys, so it takes milliseconds."""
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name}",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def make_server_certificate(folder: Path, ca: tuple[Path, Path], san: str) -> tuple[Path, Path]:
    """Create a server certificate and key for `san` (e.g. IP:127.0.0.1), signed by `ca`."""
    cert, key, csr = folder / "server.pem", folder / "server.key", folder / "server.csr"
    extensions = folder / "server.ext"
    extensions.write_text(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n")
    subprocess.run(
        ["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", csr, "-subj", "/CN=annuaire de test"],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", extensions],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="session")
def slapd_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsDirectory]:
    """Run a second slapd that offers LDAPS and StartTLS, for the certificate checks."""
    folder = tmp_path_factory.mktemp("slapd-tls")
    ca = make_ca(folder, "ca")
    other_ca = make_ca(folder, "other-ca")
    tls = make_server_certificate(folder, ca, "IP:127.0.0.1")
    with SlapdProcess(folder / "slapd", tls=tls) as server:
        yield TlsDirectory(server, ca[0], other_ca[0])


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


def enforcement_environment(url: str) -> dict[str, str]:
    """Return the functions' `SESAME_LDAP_*` settings (docs/enforcement.md) for the seed."""
    return {
        "SESAME_LDAP_URL": url,
        "SESAME_LDAP_BIND_DN": SERVICE_DN,
        "SESAME_LDAP_PASSWORD": SERVICE_PASSWORD,
        "SESAME_LDAP_PEOPLE_BASE": PEOPLE_DN,
        "SESAME_LDAP_GROUPS_BASE": GROUPS_DN,
        "SESAME_LDAP_PLACEHOLDER_DN": PLACEHOLDER_DN,
    }
