"""Run `python -m local_stack` in its own process, as `make run` does, and talk to it over HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
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
    """Start the stack in its own process; yield its base URL; stop it with Ctrl-C (SIGINT).

    What the stack prints goes to a file, not a pipe: a pipe nobody reads fills up and blocks
    the stack's request log.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SESAME_", "MOTO_"))}
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir.parent / f"{state_dir.name}-stack.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local_stack", *STACK_ARGS, "--state-dir", str(state_dir)],
            cwd=PROJECT_ROOT,
            env={**env, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        base_url = _wait_until_ready(process, log_path)
        try:
            yield base_url
        except BaseException:
            # The stack's own account of the failure (an answer's traceback): pytest shows it
            # with the test's output, and the folder holding the log is gone by then.
            print("--- local stack log (end) ---\n" + log_path.read_text("utf-8")[-6000:])
            raise
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(
                "the stack did not stop on Ctrl-C:\n" + log_path.read_text("utf-8")[-3000:]
            ) from None
        assert code == 0, log_path.read_text("utf-8")[-3000:]


def _wait_until_ready(process: subprocess.Popen[bytes], log_path: Path) -> str:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        for line in log_path.read_text("utf-8", errors="replace").splitlines():
            if line.startswith("ready "):
                return line.split()[1]
        if process.poll() is not None:
            break
        time.sleep(0.05)  # polling a file the stack writes; the deadline bounds it
    raise AssertionError("the local stack did not start:\n" + log_path.read_text("utf-8")[-3000:])


def fetch(url: str, data: dict[str, list[str]] | None = None) -> str:
    body = urlencode(data, doseq=True).encode() if data is not None else None
    with urlopen(Request(url, data=body), timeout=10) as response:  # noqa: S310
        return str(response.read().decode("utf-8"))


def form_token(base_url: str) -> str:
    """Open the form and return its one-time key."""
    found = re.search(r'name="form_token" value="([^"]+)"', fetch(f"{base_url}/"))
    assert found
    return found.group(1)
