"""The validated policy snapshot: the same policy, no validator built, never served stale."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.adapters.policy_files import (
    SNAPSHOT,
    cached_policy,
    load_policy,
    policy_digest,
    read_snapshot,
    write_snapshot,
)
from chalicelib.domain.errors import InvalidPolicy
from ops.check_policy import main as policy_check
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(PROJECT_ROOT / "policies", target)
    (target / SNAPSHOT).unlink(missing_ok=True)
    return target


def rename_linkedin(folder: Path, name: str) -> None:
    path = folder / "catalogue.toml"
    text = path.read_text(encoding="utf-8")
    assert 'name_fr = "LinkedIn"' in text
    path.write_text(text.replace('name_fr = "LinkedIn"', f'name_fr = "{name}"', 1), "utf-8")


def linkedin_fr(folder: Path) -> str:
    cached_policy.cache_clear()
    return cached_policy(folder).label("platforms", "linkedin", "fr")


def test_the_snapshot_is_the_policy_the_files_validate_to(folder: Path) -> None:
    written = write_snapshot(folder)
    found = read_snapshot(folder)
    assert found is not None
    assert found == written == load_policy(folder)
    assert found.route_for(("linkedin",), "publish") == written.route_for(("linkedin",), "publish")
    assert found.holidays and found.holidays == written.holidays
    assert json.loads((folder / SNAPSHOT).read_text("utf-8"))["digest"] == policy_digest(folder)


def test_a_fresh_process_serves_the_snapshot_without_building_a_validator(folder: Path) -> None:
    write_snapshot(folder)
    script = (
        "import sys; from pathlib import Path\n"
        "from chalicelib.adapters.policy_files import cached_policy\n"
        "from chalicelib.domain import policy as models\n"
        "found = cached_policy(Path(sys.argv[1]))\n"
        "print(found.version, found.label('platforms', 'linkedin', 'fr'))\n"
        "print(any(getattr(models, n).__pydantic_complete__ for n in ('Policy', 'Rules')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(folder)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split("\n")[:2] == [f"{load_policy(folder).version} LinkedIn", "False"]
    assert "validating the files" not in result.stderr


def test_a_policy_changed_after_its_snapshot_is_served_as_changed(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_snapshot(folder)
    assert linkedin_fr(folder) == "LinkedIn"
    rename_linkedin(folder, "LinkedIn (renommé)")
    with caplog.at_level(logging.WARNING, logger="sesame.policy"):
        assert read_snapshot(folder) is None
        assert linkedin_fr(folder) == "LinkedIn (renommé)"
    assert "stale" in caplog.text


def test_an_awareness_screen_changed_after_the_snapshot_is_served_as_changed(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The awareness module sits in a subfolder: its files are part of the digest too.
    write_snapshot(folder)
    screen = folder / "awareness" / "01-policy.fr.md"
    screen.write_text("Texte revu après le paquet.\n", "utf-8")
    with caplog.at_level(logging.WARNING, logger="sesame.policy"):
        assert read_snapshot(folder) is None
    assert "stale" in caplog.text
    cached_policy.cache_clear()
    awareness = cached_policy(folder).awareness
    assert awareness is not None
    assert awareness.screens[0].text_fr == "Texte revu après le paquet."


def test_a_policy_broken_after_its_snapshot_is_refused_not_served_from_it(folder: Path) -> None:
    write_snapshot(folder)
    rules = folder / "rules.toml"
    rules.write_text(
        rules.read_text("utf-8").replace("max_duration_days = 90", "max_duration_days = 0"),
        "utf-8",
    )
    cached_policy.cache_clear()
    with pytest.raises(InvalidPolicy) as refused:
        cached_policy(folder)
    assert refused.value.file == "rules.toml"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: p["catalogue"].update(extra=1),
        lambda p: p["rules"].pop("limits"),
        lambda p: p["organisation"].update(link_lifetime_days="7"),
        lambda p: p.update(holidays=["not a date"]),
    ],
    ids=["unknown field", "missing field", "wrong type", "bad date"],
)
def test_a_snapshot_that_does_not_fit_the_models_is_not_used(
    folder: Path, tamper: object, caplog: pytest.LogCaptureFixture
) -> None:
    write_snapshot(folder)
    path = folder / SNAPSHOT
    snapshot = json.loads(path.read_text("utf-8"))
    tamper(snapshot["policy"])  # type: ignore[operator]
    path.write_text(json.dumps(snapshot), "utf-8")
    with caplog.at_level(logging.WARNING, logger="sesame.policy"):
        assert read_snapshot(folder) is None
    assert "does not fit" in caplog.text
    assert linkedin_fr(folder) == "LinkedIn"


def test_without_a_snapshot_the_files_are_validated(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="sesame.policy"):
        assert read_snapshot(folder) is None
    assert "no policy snapshot" in caplog.text
    assert linkedin_fr(folder) == "LinkedIn"


def test_the_check_command_writes_the_snapshot_only_for_a_valid_policy(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert policy_check([str(folder), "--write-snapshot"]) == 0
    assert read_snapshot(folder) == load_policy(folder)
    assert SNAPSHOT in capsys.readouterr().out
    (folder / SNAPSHOT).unlink()
    rename_linkedin(folder, "")
    assert policy_check([str(folder), "--write-snapshot"]) == 1
    assert not (folder / SNAPSHOT).exists()
