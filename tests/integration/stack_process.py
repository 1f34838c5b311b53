"""Run `python -m local_stack` in its own process, as `make run` does, and talk to it over HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from tests.conftest import PROJECT_ROOT

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
        # Keep reading what the stack prints (its request log): a full pipe would block it.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield base_url
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


def fetch(url: str, data: dict[str, list[str]] | None = None) -> str:
    body = urlencode(data, doseq=True).encode() if data is not None else None
    with urlopen(Request(url, data=body), timeout=10) as response:  # noqa: S310
        return str(response.read().decode("utf-8"))


def form_token(base_url: str) -> str:
    """Open the form and return its one-time key."""
    found = re.search(r'name="form_token" value="([^"]+)"', fetch(f"{base_url}/"))
    assert found
    return found.group(1)
