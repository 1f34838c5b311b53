"""`python -m ops.check_policy FOLDER` (`make check-policy`): validate a policy folder."""

from __future__ import annotations

import sys
from pathlib import Path

from chalicelib.domain.errors import InvalidPolicy
from chalicelib.policy_files import load_policy


def main(argv: list[str]) -> int:
    """Validate the folder given (default: policies/); print the result; exit 0 when valid."""
    folder = Path(argv[0]) if argv else Path("policies")
    try:
        policy = load_policy(folder)
    except InvalidPolicy as error:
        sys.stderr.write(
            f"Policy refused / politique refusée: file {error.file}, "
            f"field {error.field}: {error.reason}\n"
        )
        return 1
    sys.stdout.write(f"Policy {folder} is valid (version {policy.version}).\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
