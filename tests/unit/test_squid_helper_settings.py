"""The Squid helper's start: unsafe settings refused, the secret from a file, stdlib only."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.grants_feed import CLIENT_ID, CLIENT_SECRET, GrantsFeed, grant
from tests.peers.squid import HELPER, system_python

pytestmark = pytest.mark.unit
MARIE = "marie.tremblay@mcn.gouv.qc.ca"
FAST = ["--refresh", "0.2", "--max-stale", "3600"]


@pytest.fixture
def feed() -> Iterator[GrantsFeed]:
    """A grants feed on loopback."""
    server = GrantsFeed()
    yield server
    server.stop()


def test_the_secret_can_be_read_from_a_file(feed, tmp_path: Path) -> None:
    feed.set_grants([grant(MARIE, "linkedin")])
    secret_file = tmp_path / "secret"
    secret_file.write_text(CLIENT_SECRET + "\n")
    command = [system_python(), "-I", str(HELPER), "--feed", feed.url, "--client-id", CLIENT_ID]
    command += ["--client-secret-file", str(secret_file), *FAST]
    done = subprocess.run(
        command,
        check=False,
        input=f"0 {MARIE} linkedin.com\n",
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert done.stdout == "0 OK\n"
    assert CLIENT_SECRET not in done.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--feed", "http://sesame.example.gouv.qc.ca/api/v1/grants"], "https"),
        (["--feed", "file:///etc/passwd"], "https"),
        (["--refresh", "60", "--max-stale", "30"], "--max-stale"),
        (["--client-id", "a:b"], "':'"),
    ],
)
def test_unsafe_settings_are_refused_at_start(options: list[str], message: str) -> None:
    base = {"--feed": "https://sesame.example.gouv.qc.ca/api/v1/grants", "--client-id": "proxy"}
    for name, value in zip(options[::2], options[1::2], strict=True):
        base[name] = value
    command = [system_python(), "-I", str(HELPER), "--client-secret", CLIENT_SECRET]
    command += [part for pair in base.items() for part in pair]
    done = subprocess.run(
        command, check=False, input="", capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_the_helper_is_one_file_of_standard_library_only() -> None:
    tree = ast.parse(HELPER.read_text(encoding="utf-8"))
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
        )
    }
    assert imported - {"__future__"} <= set(sys.stdlib_module_names)
    assert len(HELPER.read_text(encoding="utf-8").splitlines()) <= 350
