"""The local provider refuses a Node.js older than its package's "engines" (Debian 12 has 18)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from local_stack.oidc_process import MIN_NODE_MAJOR, ensure_node

pytestmark = pytest.mark.unit


def _fake_node(folder: Path, version: str) -> None:
    for name, output in (("node", version), ("npm", "10.0.0")):
        program = folder / name
        program.write_text(f"#!/bin/sh\necho {output}\n")
        program.chmod(0o755)


@pytest.mark.parametrize(("version", "usable"), [("v18.19.0", False), ("v20.20.2", True)])
def test_node_older_than_the_provider_needs_is_refused_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    version: str,
    usable: bool,
) -> None:
    _fake_node(tmp_path, version)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin:/bin")
    assert ensure_node() is usable
    said = capsys.readouterr()
    if not usable:
        assert f"Node.js {MIN_NODE_MAJOR}+" in said.out + said.err and "v18" in said.out + said.err
