"""Free text people type: what characters it may not hold (they could disguise what is read)."""

from __future__ import annotations

import unicodedata

# Direction overrides, isolates and marks can make an approver read something else.
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
LINE_BREAKS = frozenset("\n\r\t")
LINE_SEPARATORS = frozenset("\u2028\u2029")


def unsafe_text(value: str, *, multiline: bool) -> bool:
    """Tell whether text holds control, bidi, separator or unpaired surrogate characters."""
    for char in value:
        if multiline and char in LINE_BREAKS:
            continue
        if char in BIDI_CONTROLS or char in LINE_SEPARATORS:
            return True
        if unicodedata.category(char) in {"Cc", "Cs", "Co", "Cn"}:
            return True
    return False


def normalise_text(value: str) -> str:
    """Return text in NFC with LF line endings (what is stored and shown)."""
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
