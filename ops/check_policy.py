"""`python -m ops.check_policy FOLDER [--write-snapshot]`: validate a policy folder.

With `--write-snapshot` (packaging, `make run`, `make bench`), the validated policy is also
written beside the files, for processes to load without validating again (policy_files).
"""

from __future__ import annotations

import sys
from pathlib import Path

from chalicelib.adapters.policy_files import load_policy, write_snapshot
from chalicelib.adapters.policy_snapshot import SNAPSHOT
from chalicelib.domain.errors import InvalidPolicy


def main(argv: list[str]) -> int:
    """Validate the folder given (default: policies/); print the result; exit 0 when valid."""
    snapshot = "--write-snapshot" in argv
    folders = [a for a in argv if a != "--write-snapshot"]
    folder = Path(folders[0]) if folders else Path("policies")
    try:
        policy = write_snapshot(folder) if snapshot else load_policy(folder)
    except InvalidPolicy as error:
        sys.stderr.write(
            f"Policy refused / politique refusée: file {error.file}, "
            f"field {error.field}: {error.reason}\n"
        )
        return 1
    written = f"; snapshot {folder / SNAPSHOT}" if snapshot else ""
    sys.stdout.write(f"Policy {folder} is valid (version {policy.version}){written}.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
