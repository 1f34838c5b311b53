"""Read the policy folder (TOML) into a validated Policy, or say exactly what is wrong.

Validating builds pydantic's validators, which costs a cold start more than the rest of the
form (docs/performance.md). So packaging validates the folder once and writes what it found
into `<folder>/.validated.json` with a digest of the folder's files; a process whose folder
still has that digest loads the snapshot without validating again. A snapshot whose digest
differs (a file changed since), that is missing or that does not fit the models is never
used: the files are validated as before, and a warning says so.
"""

from __future__ import annotations

import functools
import json
import logging
import tomllib
import types
import typing
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..domain.errors import InvalidPolicy
from ..domain.policy import (
    Catalogue,
    DirectoryEntry,
    Organisation,
    Policy,
    Rules,
)
from ..domain.policy_checks import reference_errors
from .awareness_files import load_awareness
from .policy_identity import load_identity
from .policy_snapshot import SNAPSHOT, policy_digest

LOG = logging.getLogger("sesame.policy")
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
    parts: dict[str, Any] = {"identity": load_identity(raw)}  # issue 15: [sign_in], [directory]
    for key, model in (("organisation", Organisation), ("catalogue", Catalogue), ("rules", Rules)):
        try:
            parts[key] = model.model_validate(raw[key])
        except ValidationError as error:
            raise _first_error(FILES[key], error) from None
    parts["awareness"] = load_awareness(folder)  # issue 17: policies/awareness/
    policy = Policy(**parts, directory=directory, holidays=_holidays(folder))
    problems = reference_errors(policy)
    if problems:
        raise InvalidPolicy(*problems[0])
    return policy


def write_snapshot(folder: Path) -> Policy:
    """Validate a policy folder and write the result, with the folder's digest, beside it."""
    # Digest first: a file edited while this runs leaves a digest of the older files beside
    # the newer policy, which the next reader finds stale, never the other way round.
    digest = policy_digest(folder)
    policy = load_policy(folder)
    snapshot = {"digest": digest, "policy": policy.model_dump(mode="json")}
    (folder / SNAPSHOT).write_text(json.dumps(snapshot, ensure_ascii=False), encoding="utf-8")
    return policy


class _Unfit(ValueError):
    """The snapshot does not fit the models (written by another version of the code)."""


def _built(annotation: Any, value: Any) -> Any:
    """Rebuild a value of the snapshot as its field's type, without validating it again."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:  # e.g. StrictBool (identity settings, issue 15)
        annotation = typing.get_args(annotation)[0]
        origin = typing.get_origin(annotation)
    if origin is typing.Literal:  # one of the listed values, as the files validated it
        if value not in typing.get_args(annotation):
            raise _Unfit(f"{annotation!r}: {value!r}")
        annotation, origin = type(value), None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if not isinstance(value, dict) or set(value) != set(annotation.model_fields):
            raise _Unfit(annotation.__name__)
        fields = annotation.model_fields
        return annotation.model_construct(
            **{name: _built(fields[name].annotation, item) for name, item in value.items()}
        )
    if origin is tuple and isinstance(value, list):
        return tuple(_built(typing.get_args(annotation)[0], item) for item in value)
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        return None if value is None else _built(kinds[0], value)
    if annotation is date and isinstance(value, str):
        return date.fromisoformat(value)
    plain = origin or annotation
    if not isinstance(plain, type) or not isinstance(value, plain):
        raise _Unfit(f"{annotation!r}: {value!r}")
    return value


def read_snapshot(folder: Path) -> Policy | None:
    """Return the validated snapshot of a folder, or None when missing, stale or unfit."""
    path = folder / SNAPSHOT
    if not path.is_file():
        LOG.warning("no policy snapshot in %s: validating the files", folder)
        return None
    try:
        snapshot = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(snapshot, dict):
            raise _Unfit("not an object")
        if snapshot.get("digest") != policy_digest(folder):
            LOG.warning("the policy snapshot of %s is stale: validating the files", folder)
            return None
        policy: Policy = _built(Policy, snapshot.get("policy"))
    except ValueError as error:  # _Unfit, a date that is not one, JSON that is not JSON
        LOG.warning(
            "the policy snapshot of %s does not fit (%s): validating the files", folder, error
        )
        return None
    return policy


@functools.cache
def cached_policy(folder: Path) -> Policy:
    """Load the policy of a folder once per process (its snapshot when still current)."""
    return read_snapshot(folder) or load_policy(folder)
