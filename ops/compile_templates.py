"""`python -m ops.compile_templates`: compile every template into `templates/.compiled/`.

`make package` and `make bench` run it; the compiled code ships with the package, so a cold
Lambda loads it instead of compiling (chalicelib/rendering/templates.py).
"""

from __future__ import annotations

import sys

from chalicelib.rendering.templates import COMPILED_DIR, compile_all
from chalicelib.settings import PROJECT_ROOT


def main() -> int:
    """Compile the project's templates; print how many."""
    folder = PROJECT_ROOT / "templates"
    sys.stdout.write(f"{compile_all(folder)} templates compiled into {folder / COMPILED_DIR}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
