"""Deployed-stage fail-safes (issue 13, item 7): the secret comes from SSM outside local and
test, a Lambda refuses the local and test stages, and odd characters in a link path get the
unknown-link page."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from chalice.test import Client

from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import FORM_HEADERS, html

pytestmark = pytest.mark.integration
LINK_KINDS = ("confirm", "decide", "status", "delegate", "renew", "login")


@pytest.mark.parametrize("tail", ["é", "ａ" * 43, "a" * 20 + "\u202e" + "b" * 22])
def test_a_non_ascii_link_path_gets_the_unknown_link_page(client: Client, tail: str) -> None:
    for kind in LINK_KINDS:
        for method in ("GET", "POST"):
            path = f"/{kind}/{tail}"
            answer = (
                client.http.get(path)
                if method == "GET"
                else client.http.post(path, headers=FORM_HEADERS, body=b"csrf=x")
            )
            # 404 is the unknown-link page; the renewal and status links answer GET only.
            assert answer.status_code in (404, 405), (kind, method, answer.status_code)
            if answer.status_code == 404:
                assert "text/html" in answer.headers["Content-Type"]
                assert "Lien introuvable" in html(answer)


def _start(stage: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Import app.py as a Lambda cold start would, with a stage's variables."""
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(PROJECT_ROOT),
        "AWS_LAMBDA_FUNCTION_NAME": "sesame-dev-APIHandler",
        "SESAME_STAGE": stage,
        "SESAME_PUBLIC_BASE_URL": "https://sesame.example.gouv.qc.ca",
        **extra,
    }
    script = "import app\nfrom chalicelib.settings import get_settings\nget_settings()\n"
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("stage", ["local", "test", ""])
def test_a_lambda_refuses_the_local_and_test_stages_at_start_up(stage: str) -> None:
    result = _start(stage, SESAME_SIGNING_SECRET="s" * 40)
    assert result.returncode != 0
    assert "refused inside Lambda" in result.stderr


def test_a_deployed_stage_refuses_a_secret_from_the_environment() -> None:
    result = _start(
        "dev",
        SESAME_SIGNING_SECRET="s" * 40,
        SESAME_SIGNING_SECRET_PARAMETER="/sesame/dev/signing-secret",
    )
    assert result.returncode != 0
    assert "SESAME_SIGNING_SECRET is accepted only in the local and test stages" in result.stderr
