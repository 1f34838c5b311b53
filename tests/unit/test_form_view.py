"""The empty form's view of the policy: the snapshot's is the validated policy's, never stale."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chalicelib.adapters.policy_files import load_policy, write_snapshot
from chalicelib.adapters.policy_snapshot import SNAPSHOT, snapshot_form_view
from chalicelib.domain.form_view import form_view
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(PROJECT_ROOT / "policies", target)
    (target / SNAPSHOT).unlink(missing_ok=True)
    snapshot_form_view.cache_clear()
    return target


def test_the_snapshot_shows_what_the_validated_policy_shows(folder: Path) -> None:
    policy = write_snapshot(folder)
    shown = snapshot_form_view(folder)
    assert shown is not None
    assert shown == form_view(policy) == form_view(load_policy(folder))
    assert [p.id for p in shown.catalogue.platforms] == [p.id for p in policy.catalogue.platforms]
    assert shown.catalogue.levels[0].name("en") == policy.catalogue.levels[0].name_en
    assert shown.usage_policy_text("fr") == policy.usage_policy_text("fr")
    assert shown.usage_policy_text("en") == policy.usage_policy_text("en")
    assert shown.version == policy.version
    assert shown.rules.max_justification_chars == policy.rules.max_justification_chars
    assert shown.bounds.max_duration_days == max(r.max_duration_days for r in policy.rules.routes)
    assert shown.bounds.min_justification_chars == min(
        r.min_justification_chars for r in policy.rules.routes
    )


def test_a_file_changed_after_the_snapshot_is_not_shown_from_it(folder: Path) -> None:
    write_snapshot(folder)
    path = folder / "catalogue.toml"
    text = path.read_text(encoding="utf-8")
    assert 'name_fr = "LinkedIn"' in text
    path.write_text(text.replace('name_fr = "LinkedIn"', 'name_fr = "Lien"', 1), "utf-8")
    assert snapshot_form_view(folder) is None  # the caller validates the files instead


def test_a_missing_or_unfit_snapshot_is_not_shown(folder: Path) -> None:
    assert snapshot_form_view(folder) is None
    write_snapshot(folder)
    text = (folder / SNAPSHOT).read_text(encoding="utf-8")
    (folder / SNAPSHOT).write_text(text.replace('"catalogue"', '"katalog"', 1), "utf-8")
    snapshot_form_view.cache_clear()
    assert snapshot_form_view(folder) is None
