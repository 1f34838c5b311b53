"""The local stack without its identity provider runs as without one (issue 15).

`make run` serves the demo's provider only when it could start it; otherwise (no Node.js,
another port) the app must not send people to a provider that is not there, nor ask for a
sign-in nobody can give: e-mail sign-in stays, and the link is the credential.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.service.context import NO_PROVIDER_VARIABLE, get_services, reset_services

pytestmark = pytest.mark.unit


@pytest.fixture
def local_stage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("SESAME_STAGE", "local")
    monkeypatch.setenv("SESAME_STATE_DIR", str(tmp_path))
    monkeypatch.delenv(NO_PROVIDER_VARIABLE, raising=False)
    reset_services()
    yield monkeypatch
    reset_services()


def test_with_its_provider_the_demo_binds_decisions_to_a_sign_in(
    local_stage: pytest.MonkeyPatch,
) -> None:
    identity = get_services().policy.identity
    assert identity.sign_in_for("local") is not None
    assert identity.decisions_require_sign_in("local")


def test_without_it_the_app_runs_as_without_a_provider(local_stage: pytest.MonkeyPatch) -> None:
    local_stage.setenv(NO_PROVIDER_VARIABLE, "1")
    identity = get_services().policy.identity
    assert identity.sign_in_for("local") is None
    assert not identity.decisions_require_sign_in("local")
    assert identity.email_links_allowed("local")


def test_the_switch_is_honoured_in_the_local_stage_only(
    local_stage: pytest.MonkeyPatch,
) -> None:
    local_stage.setenv("SESAME_STAGE", "test")
    local_stage.setenv(NO_PROVIDER_VARIABLE, "1")
    local_stage.setenv("SESAME_SIGNING_SECRET", "s" * 40)
    served = get_services().policy
    # The demo serves no provider in "test": the switch leaves the file's table as it is.
    assert served.identity.sign_in is not None
