"""`python -m ops.compile_templates`: compile every template into `templates/.compiled/`,
and the translation catalogues into `chalicelib/web/locales/.compiled/`.

`make package` and `make bench` run it; the compiled code ships with the package, so a cold
Lambda loads it instead of compiling (chalicelib/rendering/templates.py, rendering/i18n.py).
"""

from __future__ import annotations

import sys

from chalicelib.rendering.i18n import COMPILED_DIR as CATALOGUES_DIR
from chalicelib.rendering.i18n import compile_catalogues
from chalicelib.rendering.templates import COMPILED_DIR, compile_all
from chalicelib.settings import PROJECT_ROOT


def main() -> int:
    """Compile the project's templates and catalogues; print how many."""
    folder = PROJECT_ROOT / "templates"
    sys.stdout.write(f"{compile_all(folder)} templates compiled into {folder / COMPILED_DIR}\n")
    sys.stdout.write(f"{compile_catalogues()} catalogues compiled into {CATALOGUES_DIR}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
