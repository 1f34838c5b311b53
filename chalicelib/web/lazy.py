"""Stand-ins that import a module on first use, so a cold start imports only what it serves.

`app.py` names every use case at import; most routes need only a few. A Lambda started to
serve the form would otherwise import (and build the models of) every other use case first.
Type checkers see the real imports (under TYPE_CHECKING); only run time is deferred.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any


class LazyModule:
    """A module imported on its first attribute access."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)


def lazy_function(module: str, name: str) -> Callable[..., Any]:
    """Return a function that imports `module` on its first call, then calls `module.name`."""
    target: list[Callable[..., Any]] = []

    def call(*args: Any, **kwargs: Any) -> Any:
        if not target:
            target.append(getattr(importlib.import_module(module), name))
        return target[0](*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call
