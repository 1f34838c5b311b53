"""Read the policy folder (TOML) into a validated Policy, or say exactly what is wrong."""

from __future__ import annotations

import functools
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .awareness_files import load_awareness
from .domain.errors import InvalidPolicy
from .domain.policy import (
    Catalogue,
    DirectoryEntry,
    Organisation,
    Policy,
    Rules,
    reference_errors,
)

FILES = {"organisation": "organisation.toml", "catalogue": "catalogue.toml", "rules": "rules.toml"}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise InvalidPolicy(path.name, "-", "file is missing") from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidPolicy(path.name, "-", f"not valid TOML: {error}") from None


def _first_error(file: str, error: ValidationError) -> InvalidPolicy:
    detail = error.errors()[0]
    field = ".".join(str(part) for part in detail["loc"]) or "-"
    return InvalidPolicy(file, field, detail["msg"])


def _usage_policy_texts(folder: Path, raw: dict[str, Any]) -> dict[str, Any]:
    usage = dict(raw.get("usage_policy") or {})
    for lang in ("fr", "en"):
        name = usage.pop(f"file_{lang}", None)
        if not isinstance(name, str) or "/" in name or name.startswith("."):
            raise InvalidPolicy(FILES["organisation"], f"usage_policy.file_{lang}", "missing")
        text_path = folder / name
        if not text_path.is_file():
            raise InvalidPolicy(name, "-", "file is missing")
        usage[f"text_{lang}"] = text_path.read_text(encoding="utf-8").strip()
    return {**raw, "usage_policy": usage}


def _directory(folder: Path, organisation: dict[str, Any]) -> tuple[DirectoryEntry, ...]:
    name = organisation.pop("directory_file", None)
    if name is None:
        return ()
    if not isinstance(name, str) or "/" in name or name.startswith("."):
        raise InvalidPolicy(FILES["organisation"], "directory_file", "must be a file name")
    raw = _read_toml(folder / name)
    unknown = set(raw) - {"employees"}
    if unknown:
        raise InvalidPolicy(name, sorted(unknown)[0], "unknown field")
    entries = []
    for index, entry in enumerate(raw.get("employees", [])):
        try:
            entries.append(DirectoryEntry.model_validate(entry))
        except ValidationError as error:
            detail = _first_error(name, error)
            raise InvalidPolicy(name, f"employees.{index}.{detail.field}", detail.reason) from None
    return tuple(entries)


HOLIDAYS_FILE = "holidays.toml"


def _holidays(folder: Path) -> tuple[date, ...]:
    """Read the public holidays (optional file): `[[holidays]] date = 2026-06-24, name = ...`."""
    path = folder / HOLIDAYS_FILE
    if not path.exists():
        return ()
    raw = _read_toml(path)
    unknown = set(raw) - {"holidays"}
    if unknown:
        raise InvalidPolicy(HOLIDAYS_FILE, sorted(unknown)[0], "unknown field")
    days = []
    for index, entry in enumerate(raw.get("holidays", [])):
        day = entry.get("date") if isinstance(entry, dict) else None
        if not isinstance(day, date) or isinstance(day, datetime):
            raise InvalidPolicy(HOLIDAYS_FILE, f"holidays.{index}.date", "must be a date")
        if set(entry) - {"date", "name"}:
            raise InvalidPolicy(HOLIDAYS_FILE, f"holidays.{index}", "only date and name")
        days.append(day)
    return tuple(sorted(set(days)))


def load_policy(folder: Path) -> Policy:
    """Read and validate every policy file in a folder, then what they say of each other."""
    raw = {key: _read_toml(folder / name) for key, name in FILES.items()}
    raw["organisation"] = _usage_policy_texts(folder, raw["organisation"])
    directory = _directory(folder, raw["organisation"])
    parts: dict[str, Any] = {}
    for key, model in (("organisation", Organisation), ("catalogue", Catalogue), ("rules", Rules)):
        try:
            parts[key] = model.model_validate(raw[key])
        except ValidationError as error:
            raise _first_error(FILES[key], error) from None
    policy = Policy(**parts, directory=directory, holidays=_holidays(folder))
    policy = policy.model_copy(update={"awareness": load_awareness(folder)})
    problems = reference_errors(policy)
    if problems:
        raise InvalidPolicy(*problems[0])
    return policy


@functools.cache
def cached_policy(folder: Path) -> Policy:
    """Load the policy of a folder once per process."""
    return load_policy(folder)
