"""The form page's cold start loads no store, no sign-in and no pydantic (docs/performance.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.adapters.policy_files import write_snapshot
from chalicelib.rendering.i18n import compile_catalogues

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# Loaded only when a page reads the table or a session: a fresh process serving GET / must
# not pay for them (each was imported by app.py's import chain before).
DEFERRED = (
    "chalicelib.store.requests",
    "chalicelib.store.audit",
    "chalicelib.store.sessions",
    "chalicelib.service.signin",
    "chalicelib.notify.ses",
    "chalicelib.domain.timers",
    # The empty form shows the policy from its snapshot as plain data (domain/form_view.py):
    # the policy's pydantic models are defined only when a request is checked.
    "chalicelib.adapters.policy_files",
    "chalicelib.domain.policy",
    "chalicelib.domain.catalogue",
    "chalicelib.domain.trust",
    "chalicelib.domain.identity_policy",
    # No pydantic at all: the settings are a plain dataclass, the literal types and the
    # request models are named for typing only, sign-in refusals and awareness on first use.
    "pydantic",
    "pydantic_core",
    "chalicelib.domain.models",
    "chalicelib.domain.sessions",
    "chalicelib.domain.identity",
    "chalicelib.domain.awareness",
    "chalicelib.domain.submission",
    # The translations come from their compiled JSON (`make cold-start-assets`), not the TOML.
    "tomllib",
    # Québec's time zone is loaded by the first date shown (zoneinfo imports sysconfig).
    "zoneinfo",
)
PROBE = """
import json, sys
from chalice.test import Client
import app
with Client(app.app, stage_name="test") as client:
    status = client.http.get("/?lang=fr").status_code
print(json.dumps({"status": status, "loaded": sorted(m for m in sys.modules
                  if m.startswith(("chalicelib.", "pydantic", "tomllib", "zoneinfo")))}))
"""


def test_serving_the_form_in_a_fresh_process_imports_no_store_and_no_signin(
    tmp_path: Path,
) -> None:
    # What a package ships: a policy folder with its validated snapshot (a fresh clone has none).
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    write_snapshot(policies)
    compile_catalogues()  # beside the TOML files, as `make cold-start-assets` does
    env = {
        **os.environ,
        "SESAME_STAGE": "test",
        "SESAME_MAIN_TABLE": "sesame-test-main",
        "SESAME_AUDIT_TABLE": "sesame-test-audit",
        "SESAME_PUBLIC_BASE_URL": "https://sesame.example.gouv.qc.ca",
        "SESAME_SIGNING_SECRET": "cold-path-" + "x" * 40,
        "SESAME_STATE_DIR": str(tmp_path),
        "SESAME_POLICY_DIR": str(policies),
        "AWS_DEFAULT_REGION": "ca-central-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,  # the assertion shows stderr
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["status"] == 200
    # The probe sees what the page did load, so an empty answer cannot pass for a light one.
    assert {"chalicelib.web.pages", "chalicelib.web.request_form"} <= set(found["loaded"])
    assert [m for m in DEFERRED if m in found["loaded"]] == []
