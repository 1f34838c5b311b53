"""`python -m local_stack` (what `make run` starts): serves the form, and keeps state on restart."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

import pytest

from tests.conftest import PROJECT_ROOT, valid_form

pytestmark = pytest.mark.integration
START_DEADLINE_SECONDS = 60
STACK_ARGS = ("--port", "0", "--emulator-port", "0")


@contextmanager
def running_stack(state_dir: Path) -> Iterator[str]:
    """Start the stack in its own process; yield its base URL; stop it with Ctrl-C (SIGINT)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SESAME_", "MOTO_"))}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local_stack",
            "--port",
            "0",
            "--emulator-port",
            "0",
            "--state-dir",
            str(state_dir),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        base_url = ""
        for line in process.stdout:  # blocks until the runner prints; the deadline bounds it
            if line.startswith("ready "):
                base_url = line.split()[1]
                break
            assert time.monotonic() < deadline, "the local stack did not start in time"
        assert base_url, "the local stack exited before it was ready"
        yield base_url
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


def fetch(url: str, data: dict[str, list[str]] | None = None) -> str:
    body = urlencode(data, doseq=True).encode() if data is not None else None
    with urlopen(Request(url, data=body), timeout=10) as response:  # noqa: S310
        return str(response.read().decode("utf-8"))


def test_requests_and_outbox_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running_stack(state) as base_url:
        form_page = fetch(f"{base_url}/")
        assert "Demander l'accès" in unescape(form_page)
        token = re.search(r'name="form_token" value="([^"]+)"', form_page)
        assert token
        fetch(f"{base_url}/", {**valid_form(), "form_token": [token.group(1)]})
        first = json.loads(fetch(f"{base_url}/dev/outbox.json"))
        assert len(first) == 1
        assert all(link.startswith(base_url) for link in first[0]["links"])

    with running_stack(state) as base_url:
        after = json.loads(fetch(f"{base_url}/dev/outbox.json"))
        assert [m["subject"] for m in after] == [m["subject"] for m in first]
        status_path = next(urlsplit(link).path for link in after[0]["links"] if "/status/" in link)
        status_page = unescape(fetch(f"{base_url}{status_path}"))
        assert "En attente de votre confirmation" in status_page
        assert "Marie Tremblay" in status_page
