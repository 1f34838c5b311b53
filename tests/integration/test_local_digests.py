"""The local stack's digests, through the operator commands: `make audit-digest` writes one,
`make verify-audit` checks it, and a digest signed before a restart still verifies after it
(the emulator's replay would otherwise draw a new key)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, valid_form
from tests.integration.stack_process import fetch, running_stack

pytestmark = pytest.mark.integration


def command(state: Path, module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run an operator command against the running local stack's emulator."""
    log = (state.parent / f"{state.name}-stack.log").read_text(encoding="utf-8")
    found = re.search(r"AWS emulator \(moto\)\s*: (\S+)", log)
    assert found, log
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SESAME_"))}
    env |= {"AWS_ENDPOINT_URL": found.group(1), "SESAME_STATE_DIR": str(state)}
    env |= {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
    env |= {"AWS_DEFAULT_REGION": "ca-central-1"}
    return subprocess.run(
        [sys.executable, "-m", module, "--stage", "local", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_digest_written_on_demand_verifies_before_and_after_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running_stack(state) as base_url:
        form_page = fetch(f"{base_url}/")
        token = re.search(r'name="form_token" value="([^"]+)"', form_page)
        assert token
        fetch(f"{base_url}/", {**valid_form(), "form_token": [token.group(1)]})
        written = command(state, "ops.audit_digest")
        assert written.returncode == 0, written.stderr
        assert written.stdout.startswith("Digest written: event ")
        checked = command(state, "ops.verify_audit", "--digests")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        before = checked.stdout
        assert re.match(
            r"Audit log of local: intact: \d+ events, 1 digests, last digest at ", before
        )

    with running_stack(state):
        again = command(state, "ops.verify_audit", "--digests")
        assert again.returncode == 0, again.stdout + again.stderr
        assert again.stdout == before
