"""The query shapes the console's pages build and read, named for the web layer.

The web layer talks to use cases only: it builds its filters and reads audit events through
this module rather than from `store/` (tests/unit/test_layers.py).
"""

from __future__ import annotations

from ..store.audit import AuditFilter, ChainedEvent
from ..store.console import RequestFilter

__all__ = ["AuditFilter", "ChainedEvent", "RequestFilter"]
