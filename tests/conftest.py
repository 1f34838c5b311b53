"""Shared fixtures: a valid form, a fixed clock, settings for the test stage."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

# The suite serves the development pages, as the local stack does (app.py registers them only
# when this is set; a Lambda never has it). Set before any test module imports app.py.
os.environ.setdefault("SESAME_DEV_ROUTES", "1")

# The real servers the tests use, each started once per session (tests/peers/).
pytest_plugins = [
    "tests.peers.oidc_provider",  # the OpenID Provider (Node.js)
    "tests.peers.slapd",  # OpenLDAP
    "tests.peers.squid",  # Squid, with the helper and a grants feed
]

# Property tests are deterministic in CI (same examples every run, no example database) and
# bounded: each test sets its own max_examples, and a failure is reported as found, without
# minutes of shrinking (SESAME_HYPOTHESIS_PROFILE=shrink minimises it while debugging).
# Function-scoped fixtures are shared by the examples on purpose: every check compares counts
# before and after one example.
_PROFILE = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "print_blob": False,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
settings.register_profile(
    "sesame", phases=[Phase.explicit, Phase.reuse, Phase.generate], **_PROFILE
)
settings.register_profile("shrink", **_PROFILE)
settings.load_profile(os.environ.get("SESAME_HYPOTHESIS_PROFILE", "sesame"))


PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET = "test-secret-" + "x" * 40
# Named in no file of policies/: the directory does not know him, so his typed manager stands.
UNLISTED = "luc.autre@mcn.gouv.qc.ca"


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
