"""Adapters depend on the domain alone; the app loads no ldap3 until a directory is used."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = ROOT / "chalicelib" / "adapters"


def _our_imports(module: Path) -> set[str]:
    """Return the chalicelib packages a module of chalicelib/adapters imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 2:
            found.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("chalicelib."):
                found.add(node.module.split(".")[1])
            elif node.module in ("chalicelib", "app"):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(
                a.name.split(".")[1] if a.name.startswith("chalicelib.") else a.name
                for a in node.names
                if a.name.startswith("chalicelib") or a.name == "app"
            )
    return found


@pytest.mark.parametrize("module", sorted(ADAPTERS.glob("*.py")), ids=lambda p: p.name)
def test_an_adapter_imports_only_the_domain_of_ours(module: Path) -> None:
    # An adapter may use another adapter (the OIDC client its HTTP and token helpers).
    assert _our_imports(module) <= {"domain", "adapters"}


def test_the_check_catches_an_import_of_another_layer(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from ..store.requests import RequestStore\nimport chalicelib.web.pages\n")
    assert _our_imports(bad) == {"store", "web"}


def test_importing_the_app_loads_no_ldap_library() -> None:
    # GET / must not pay for ldap3: only the adapter imports it; import the adapter lazily.
    code = "import sys, app\nprint(sorted(m for m in ('ldap3', 'pyasn1') if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
