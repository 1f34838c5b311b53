"""The domain package imports no AWS, web framework or template code and reads no clock."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

DOMAIN = Path(__file__).resolve().parents[2] / "chalicelib" / "domain"
FORBIDDEN_MODULES = {"boto3", "botocore", "chalice", "jinja2", "markupsafe", "secrets", "random"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time"}


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level > 1:
            # `from ..x import y` leaves the domain package: name it so the test fails.
            found.add("<outside domain>." + (node.module or ""))
    return found


@pytest.mark.parametrize("module", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_module_imports_nothing_impure(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    imported = _imports(tree)
    assert imported & FORBIDDEN_MODULES == set()
    assert not [name for name in imported if name.startswith("<outside domain>")]


@pytest.mark.parametrize("module", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_module_reads_no_clock(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert calls & FORBIDDEN_CALLS == set()


def test_the_check_catches_a_forbidden_import() -> None:
    # The checker itself must be able to fail.
    assert "boto3" in _imports(ast.parse("import boto3.session\nfrom jinja2 import Template"))
    assert "<outside domain>.aws" in _imports(ast.parse("from ..aws import dynamodb"))


def test_importing_the_domain_loads_no_aws_web_or_template_library() -> None:
    # Whatever the import path, a fresh interpreter that imports every domain module
    # must not have loaded boto3, botocore, chalice or jinja2.
    modules = ", ".join(f"chalicelib.domain.{p.stem}" for p in DOMAIN.glob("*.py"))
    code = (
        f"import sys, importlib\nfor m in '{modules}'.split(', '): importlib.import_module(m)\n"
        "print(sorted(n for n in ('boto3', 'botocore', 'chalice', 'jinja2') if n in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=DOMAIN.parents[1],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"
