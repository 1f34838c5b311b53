"""The validated policy snapshot's file and digest, and the form's view of it (no pydantic).

`make cold-start-assets` validates `policies/` and writes `<folder>/.validated.json` with the
digest of the folder's files (`policy_files.write_snapshot`). Serving the empty form needs
only what `domain/form_view.py` holds, so a fresh process reads that from a current snapshot
as plain attributes and defines no pydantic model (docs/performance.md#cold-start).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from pathlib import Path
from types import SimpleNamespace

from ..domain.form_view import FormPolicy, form_view

LOG = logging.getLogger("sesame.policy")
SNAPSHOT = ".validated.json"


def policy_digest(folder: Path) -> str:
    """Return the SHA-256 of every file of a policy folder and its subfolders (names, contents)."""
    digest = hashlib.sha256()
    # Subfolders too: the awareness module (`awareness/`) is part of the validated policy, so
    # an edited quiz must make the snapshot stale like an edited catalogue.
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            digest.update(relative.as_posix().encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.cache
def snapshot_form_view(folder: Path) -> FormPolicy | None:
    """Return the form's view of a folder's current snapshot, or None (missing, stale, unfit).

    None sends the caller to the validated policy itself, which judges the snapshot again
    (`policy_files.read_snapshot`) or validates the files.
    """
    path = folder / SNAPSHOT
    if not path.is_file():
        return None
    try:
        snapshot = json.loads(path.read_text(encoding="utf-8"), object_hook=_attributes)
        if not isinstance(snapshot, SimpleNamespace):
            return None
        if getattr(snapshot, "digest", None) != policy_digest(folder):
            return None
        return form_view(snapshot.policy)
    except (ValueError, AttributeError, TypeError) as error:
        LOG.warning("the policy snapshot of %s does not fit the form (%s)", folder, error)
        return None


def _attributes(table: dict[str, object]) -> SimpleNamespace:
    return SimpleNamespace(**table)
