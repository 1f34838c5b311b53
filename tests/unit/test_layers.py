"""Layers point one way: every module of chalicelib/ imports only the layers its own may use.

Each module is parsed (never imported), its relative imports resolved, and every import of
ours checked against the allowed-imports table. A module in no layer fails, so a new package
must be placed in the table (docs/architecture.md draws it). The domain is also kept pure:
no AWS, web framework, template engine, randomness or clock of its own.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

# The layer of a module: the first rule whose prefix names it (longest prefixes first).
LAYERS: dict[str, str] = {
    "chalicelib.domain": "domain",
    "chalicelib.store": "store",
    "chalicelib.rendering": "rendering",
    "chalicelib.adapters": "adapters",
    "chalicelib.notify": "notify",
    "chalicelib.service": "service",
    "chalicelib.web": "web",
    "chalicelib.dev": "dev",
    "chalicelib.settings": "wiring",
    "chalicelib.aws": "wiring",
}
# Which layers a layer may import (its own always; app.py never: it is the top of the stack).
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "wiring": {"domain"},
    "store": {"domain"},
    "rendering": {"domain"},
    "adapters": {"domain"},
    "notify": {"rendering", "domain"},
    "dev": {"domain", "wiring"},
    "service": {"store", "notify", "adapters", "rendering", "domain", "wiring"},
    "web": {"service", "rendering", "domain", "wiring"},
}
# The development package is imported by the dev blueprint, and by the services' wiring for
# the movable clock of the local stages; by nothing else.
DEV_USERS = {"chalicelib.web.routes.dev", "chalicelib.service.context"}
DOMAIN_FORBIDDEN = {"boto3", "botocore", "chalice", "jinja2", "markupsafe", "secrets", "random"}
CLOCK_CALLS = {"now", "utcnow", "today", "time"}


def module_name(path: Path, root: Path) -> str:
    """Return the dotted name of a source file under `root`."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, root: Path) -> set[str]:
    """Return every module a file imports, relative imports resolved against its package."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from . import aws` imports the module chalicelib.aws, not the package.
            for alias in node.names:
                candidate = root.joinpath(*f"{target}.{alias.name}".split("."))
                if candidate.with_suffix(".py").is_file() or candidate.is_dir():
                    found.add(f"{target}.{alias.name}")
    return found


def layer_of(module: str) -> str | None:
    """Return the layer of one of our modules, or None for a module of no layer."""
    if module == "chalicelib":
        return "wiring"  # the package itself (chalicelib/__init__.py), not what is under it
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return LAYERS[prefix]
    return None


def violations(root: Path) -> list[str]:
    """Every forbidden import under root/chalicelib, as 'module -> imported (why)'."""
    found: list[str] = []
    for path in sorted((root / "chalicelib").rglob("*.py")):
        name = module_name(path, root)
        layer = layer_of(name)
        if layer is None:
            found.append(f"{name}: in no layer")
            continue
        for target in sorted(imported_names(path, root)):
            if target == "app" or target.startswith("app."):
                found.append(f"{name} -> {target} (nothing imports app.py)")
                continue
            if not target.startswith("chalicelib"):
                continue
            other = layer_of(target)
            if other == "dev" and layer != "dev" and name not in DEV_USERS:
                found.append(f"{name} -> {target} (development code)")
            elif other != layer and other not in ALLOWED[layer] | {"dev"}:
                found.append(f"{name} -> {target} ({layer} may not import {other})")
    return found


def test_every_module_imports_only_what_its_layer_allows() -> None:
    assert violations(ROOT) == []


def test_every_module_of_chalicelib_is_in_a_layer() -> None:
    modules = [module_name(p, ROOT) for p in (ROOT / "chalicelib").rglob("*.py")]
    assert len(modules) > 50
    assert [m for m in modules if layer_of(m) is None] == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("service/bad.py", "from ..web.pages import render_page\n", "service may not import web"),
        ("web/bad.py", "from ..store.requests import RequestStore\n", "web may not import store"),
        ("notify/bad.py", "from ..web import pages\n", "notify may not import web"),
        ("domain/bad.py", "from chalicelib.settings import get_settings\n", "domain may not"),
        ("store/bad.py", "import app\n", "nothing imports app.py"),
        ("web/bad.py", "from ..dev import clock\n", "development code"),
        ("loose.py", "x = 1\n", "in no layer"),
    ],
)
def test_the_check_catches_a_planted_forbidden_import(
    tmp_path: Path, module: str, source: str, expected: str
) -> None:
    # A copy of the real tree, clean, then with one bad module planted in it.
    shutil.copytree(ROOT / "chalicelib", tmp_path / "chalicelib")
    assert violations(tmp_path) == []
    (tmp_path / "chalicelib" / module).write_text(source, encoding="utf-8")
    found = violations(tmp_path)
    assert found and all(expected in line for line in found), found


def test_relative_imports_are_resolved_against_the_package(tmp_path: Path) -> None:
    package = tmp_path / "chalicelib" / "web" / "routes"
    package.mkdir(parents=True)
    (tmp_path / "chalicelib" / "aws.py").write_text("")
    module = package / "x.py"
    module.write_text("from ...service.context import get_services\nfrom ... import aws\n")
    assert imported_names(module, tmp_path) == {
        "chalicelib.service.context",
        "chalicelib",
        "chalicelib.aws",
    }


DOMAIN = sorted((ROOT / "chalicelib" / "domain").glob("*.py"))


@pytest.mark.parametrize("module", DOMAIN, ids=lambda p: p.name)
def test_domain_module_imports_nothing_impure(module: Path) -> None:
    imported = {name.split(".")[0] for name in imported_names(module, ROOT)}
    assert imported & DOMAIN_FORBIDDEN == set()


@pytest.mark.parametrize("module", DOMAIN, ids=lambda p: p.name)
def test_domain_module_reads_no_clock(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert calls & CLOCK_CALLS == set()


def test_the_purity_check_catches_an_impure_import(tmp_path: Path) -> None:
    bad = tmp_path / "chalicelib" / "domain" / "bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("import boto3.session\nfrom jinja2 import Template\nimport secrets\n")
    imported = {name.split(".")[0] for name in imported_names(bad, tmp_path)}
    assert imported & DOMAIN_FORBIDDEN == {"boto3", "jinja2", "secrets"}


def test_importing_the_domain_loads_no_aws_web_or_template_library() -> None:
    # Whatever the import path, a fresh interpreter that imports every domain module
    # must not have loaded boto3, botocore, chalice or jinja2.
    modules = ", ".join(f"chalicelib.domain.{p.stem}" for p in DOMAIN)
    code = (
        f"import sys, importlib\nfor m in '{modules}'.split(', '): importlib.import_module(m)\n"
        "print(sorted(n for n in ('boto3', 'botocore', 'chalice', 'jinja2') if n in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_only_the_wiring_stays_at_the_top_of_chalicelib() -> None:
    top = {p.stem for p in (ROOT / "chalicelib").glob("*.py")}
    assert top <= {"__init__", "settings", "aws"}
