"""XML escaping for hand-written VOTable fragments (text and attribute values)."""

from __future__ import annotations

import re

# Characters XML 1.0 forbids even as references: C0 controls other than TAB/LF/CR, surrogates, FFFE/FFFF.
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
)


def clean(value: str) -> str:
    """Drop the characters XML 1.0 cannot carry at all."""
    return _INVALID.sub("", value)


def text(value: str) -> str:
    """Escape element content (CR kept as a reference so parsers do not normalise it away)."""
    return clean(value).translate(_TEXT)


def attr(value: str) -> str:
    """Escape a double-quoted attribute value; whitespace is kept through references."""
    return clean(value).translate(_ATTR)
