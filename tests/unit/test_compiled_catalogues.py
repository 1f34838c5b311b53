"""Compiled catalogues say what their TOML says, and are ignored once it changes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.rendering import i18n
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit


@pytest.fixture
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "locales"
    source = PROJECT_ROOT / "chalicelib" / "web" / "locales"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns(".compiled"))
    monkeypatch.setattr(i18n, "_LOCALES_DIR", folder)
    monkeypatch.setattr(i18n, "COMPILED_DIR", folder / ".compiled")
    i18n.catalogue.cache_clear()
    yield folder
    i18n.catalogue.cache_clear()


def test_the_compiled_catalogue_is_the_parsed_one(locales: Path) -> None:
    parsed = {lang: i18n.catalogue(lang) for lang in i18n.LANGS}
    assert i18n.compile_catalogues() == 2
    i18n.catalogue.cache_clear()
    for lang in i18n.LANGS:
        compiled = json.loads((locales / ".compiled" / f"{lang}.json").read_text("utf-8"))
        assert compiled["messages"] == parsed[lang] != {}
        assert i18n.catalogue(lang) == parsed[lang]
    assert i18n.catalogue("fr")["common.app_name"] == parsed["fr"]["common.app_name"]


def test_a_catalogue_changed_after_compiling_is_read_from_its_toml(locales: Path) -> None:
    i18n.compile_catalogues()
    path = locales / "fr.toml"
    path.write_text(path.read_text("utf-8") + '\n[cold_probe]\nchanged = "modifié"\n', "utf-8")
    i18n.catalogue.cache_clear()
    assert i18n.catalogue("fr")["cold_probe.changed"] == "modifié"


def test_a_compiled_catalogue_that_does_not_fit_is_ignored(locales: Path) -> None:
    i18n.compile_catalogues()
    compiled = locales / ".compiled" / "en.json"
    found = json.loads(compiled.read_text("utf-8"))
    found["messages"]["common.app_name"] = 42  # not a text
    compiled.write_text(json.dumps(found), "utf-8")
    i18n.catalogue.cache_clear()
    assert isinstance(i18n.catalogue("en")["common.app_name"], str)
    compiled.write_text("{not json", "utf-8")
    i18n.catalogue.cache_clear()
    assert i18n.catalogue("en")["common.app_name"]
