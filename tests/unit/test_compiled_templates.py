"""Compiled templates are loaded as they are, and ignored once their source changes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment

from chalicelib.rendering.templates import _environment, compile_all
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit
FORM = "pages/request_form.html"


def test_compiled_templates_are_used_and_stale_ones_recompiled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(PROJECT_ROOT / "templates", folder, ignore=shutil.ignore_patterns(".compiled"))
    assert compile_all(folder) > 40
    compiled: list[str] = []
    original = Environment.compile

    def counting(self: Environment, source: Any, name: str | None = None, *rest: Any) -> Any:
        compiled.append(str(name))
        return original(self, source, name, *rest)

    monkeypatch.setattr(Environment, "compile", counting)
    _environment(folder, write=False).get_template(FORM)
    assert compiled == []  # loaded from .compiled, the form and everything it extends

    page = folder / FORM
    page.write_text(page.read_text() + "\n{# changed #}\n")
    _environment(folder, write=False).get_template(FORM)
    assert compiled == [FORM]  # the stale copy is ignored, the source compiled again
