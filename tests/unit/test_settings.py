"""Settings are checked as the model declares them, without building its validator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_core import PydanticUndefined

from chalicelib.settings import RunSettings, Settings, get_settings

pytestmark = pytest.mark.unit
GOOD = {
    # The test stage: only local and test accept a signing secret from the environment.
    "SESAME_STAGE": "test",
    "SESAME_MAIN_TABLE": "sesame-dev-main",
    "SESAME_AUDIT_TABLE": "sesame-dev-audit",
    "SESAME_PUBLIC_BASE_URL": "https://sesame.example.gouv.qc.ca/app",
    "SESAME_SIGNING_SECRET": "s" * 32,
    "SESAME_EVENT_BUS": "bus",
}


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def as_fields(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in Settings.model_fields}


def test_good_settings_are_what_the_model_validates_them_to(environ: pytest.MonkeyPatch) -> None:
    found = get_settings()
    assert found.stage == "test" and found.public_base_url.endswith("/app")
    assert as_fields(Settings.model_validate(as_fields(found))) == as_fields(found)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SESAME_STAGE", "qa"),
        ("SESAME_MAIN_TABLE", "ab"),
        ("SESAME_AUDIT_TABLE", "ab"),
        ("SESAME_PUBLIC_BASE_URL", "ftp://sesame.example"),
        ("SESAME_PUBLIC_BASE_URL", "https://sesame.example/a b"),
        ("SESAME_PUBLIC_BASE_URL", "https://sesame.example/?next=x"),
        ("SESAME_PUBLIC_BASE_URL", "https://sesame.example/app\n"),
        ("SESAME_SIGNING_SECRET", "s" * 31),
    ],
)
def test_a_value_the_model_refuses_is_refused(
    environ: pytest.MonkeyPatch, name: str, value: str
) -> None:
    good = as_fields(get_settings())
    get_settings.cache_clear()
    environ.setenv(name, value)
    with pytest.raises(ValueError):
        get_settings()
    # The same value through the model's own validator: refused as well.
    field = {
        "SESAME_STAGE": "stage",
        "SESAME_MAIN_TABLE": "main_table",
        "SESAME_AUDIT_TABLE": "audit_table",
        "SESAME_PUBLIC_BASE_URL": "public_base_url",
        "SESAME_SIGNING_SECRET": "signing_secret",
    }[name]
    bad = value.encode() if field == "signing_secret" else value
    with pytest.raises(ValidationError):
        Settings.model_validate({**good, field: bad})


def test_the_settings_a_process_holds_declare_what_the_model_declares() -> None:
    # The plain settings (what get_settings returns, no pydantic) and the model they are
    # checked against (above) name the same fields, with the same defaults.
    declared = {name: info.default for name, info in Settings.model_fields.items()}
    assert list(RunSettings._fields) == list(declared)
    assert RunSettings._field_defaults == {
        name: default for name, default in declared.items() if default is not PydanticUndefined
    }
