"""A second app server over the browser session's emulator, whose policy sends a person
without a valid awareness pass to the module before their request (issue 17).

The shipped demo keeps `required_before_request = false` (docs/policies.md says why); this
server runs the same code, tables and outbox with a copy of `policies/` where the gate is on.
It is its own process: the app caches its settings and policy per process, so the session's
server and this one cannot share one. `python -m tests.browser.gated_app` prints its base URL
on the first line of stdout, then serves until terminated.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

from tests.conftest import PROJECT_ROOT

GATE_OFF = "required_before_request = false"
GATE_ON = "required_before_request = true"
START_SECONDS = 60.0


def gated_policy(target: Path) -> Path:
    """Copy `policies/` (without its dot files: the validated snapshot would not match) with
    the awareness gate on; return the copy's folder."""
    shutil.copytree(PROJECT_ROOT / "policies", target, ignore=shutil.ignore_patterns(".*"))
    module = target / "awareness" / "module.toml"
    text = module.read_text("utf-8")
    assert text.count(GATE_OFF) == 1, "the shipped module.toml no longer reads as expected"
    module.write_text(text.replace(GATE_OFF, GATE_ON), "utf-8")
    return target


def _answers(base_url: str) -> bool | None:
    try:
        with urlopen(f"{base_url}/", timeout=5) as response:  # noqa: S310 (loopback only)
            return True if response.status == 200 else None
    except (URLError, OSError):
        return None


@contextmanager
def gated_server(policy_dir: Path, log_file: Path) -> Iterator[str]:
    """Run the gated app in a child process over the current stack; yield its base URL.

    The session's stack must be running: its environment (emulator endpoint, state folder
    with the signing secret and the dev clock, tables) is what the child inherits.
    """
    from tests.browser.conftest import wait_until

    env = {**os.environ, "SESAME_POLICY_DIR": str(policy_dir)}
    with log_file.open("w", encoding="utf-8") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.browser.gated_app"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            assert child.stdout is not None
            base_url = child.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:"), (
                f"the gated app did not start: see {log_file}"
            )
            wait_until(lambda: _answers(base_url), "the gated app to answer", START_SECONDS)
            yield base_url
        finally:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=10)


def main() -> None:
    """Serve the app on a free loopback port with the environment's policy folder."""
    from chalice.cli.factory import CLIFactory

    from local_stack.runner import _local_server

    emulator = os.environ["AWS_ENDPOINT_URL"]
    factory = CLIFactory(str(PROJECT_ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name="local")
    app_obj = config.chalice_app  # applies the stage's variables to os.environ
    server = _local_server(app_obj, config, "127.0.0.1", 0)
    base_url = f"http://127.0.0.1:{server.server.server_address[1]}"
    # Links in e-mails must lead back here, where the gate is on.
    os.environ["SESAME_PUBLIC_BASE_URL"] = base_url
    os.environ["AWS_ENDPOINT_URL"] = emulator
    print(base_url, flush=True)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (nobody reads the pipe any more)
    server.server.serve_forever()


if __name__ == "__main__":
    main()
