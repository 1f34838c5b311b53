"""Shared fixtures: a valid form, a fixed clock, settings for the test stage."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET = "test-secret-" + "x" * 40


def valid_form(**overrides: object) -> dict[str, list[str]]:
    """Return a form that passes every check; override single fields per test."""
    form: dict[str, object] = {
        "name": "Marie Tremblay",
        "email": "marie.tremblay@mcn.gouv.qc.ca",
        "organization": "Ministère de la Cybersécurité et du Numérique",
        "manager_email": "jean.gestion@mcn.gouv.qc.ca",
        "platforms": ["linkedin", "x"],
        "purpose": "monitoring",
        "level": "read",
        "justification": "Je fais la veille de ce qui se dit sur le programme Accès numérique "
        "et je dois répondre aux citoyens.",
        "duration_days": "90",
        "accept_policy": "yes",
    }
    form.update(overrides)
    return {k: (v if isinstance(v, list) else [str(v)]) for k, v in form.items() if v is not None}


@pytest.fixture
def stage_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Environment of the test stage: fixed secret, test table names, dummy AWS credentials."""
    values = {
        "SESAME_STAGE": "test",
        "SESAME_MAIN_TABLE": "sesame-test-main",
        "SESAME_AUDIT_TABLE": "sesame-test-audit",
        "SESAME_PUBLIC_BASE_URL": "https://sesame.example.gouv.qc.ca",
        "SESAME_SIGNING_SECRET": TEST_SECRET,
        "SESAME_STATE_DIR": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "ca-central-1",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    from chalicelib.service.context import reset_services

    reset_services()
    yield
    reset_services()


__all__ = ["PROJECT_ROOT", "os", "valid_form"]
