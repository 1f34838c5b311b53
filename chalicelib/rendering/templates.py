"""The one Jinja2 environment for pages and e-mails (autoescape on for every .html template).

Compiling a template costs more than rendering it (about 100 ms for the request form and its
base on first use): `python -m ops.compile_templates` compiles every template once into
`templates/.compiled/` (`make package` and `make bench` run it), which ships with the package,
so a cold Lambda loads the compiled code instead. A compiled file whose source changed since
is ignored (Jinja2 compares a checksum of the source) and the template is compiled as before.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from jinja2 import (
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    select_autoescape,
)
from jinja2.bccache import Bucket

COMPILED_DIR = ".compiled"


class _ShippedTemplates(FileSystemBytecodeCache):
    """Compiled templates beside their sources, read-only unless building them."""

    def __init__(self, directory: Path, *, write: bool) -> None:
        super().__init__(str(directory))
        self._write = write

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        # By name only: the package unpacks under another path than where it was built.
        return hashlib.sha1(name.encode("utf-8"), usedforsecurity=False).hexdigest()

    def dump_bytecode(self, bucket: Bucket) -> None:
        # At run time the package is read-only: a template compiled afresh stays in memory.
        if self._write:
            super().dump_bytecode(bucket)


def _environment(templates_dir: Path, *, write: bool) -> Environment:
    compiled = templates_dir / COMPILED_DIR
    return Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_ShippedTemplates(compiled, write=write)
        if write or compiled.is_dir()
        else None,
    )


@functools.cache
def environment(templates_dir: Path) -> Environment:
    """Return the template environment of a folder, built once per process."""
    return _environment(templates_dir, write=False)


def compile_all(templates_dir: Path) -> int:
    """Compile every template of a folder into its `.compiled` folder; return how many."""
    (templates_dir / COMPILED_DIR).mkdir(exist_ok=True)
    env = _environment(templates_dir, write=True)
    names = [n for n in env.list_templates() if n.endswith((".html", ".txt"))]
    for name in names:
        env.get_template(name)
    return len(names)
