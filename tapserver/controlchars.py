"""Control characters in user input: which are refused in parameters and paths, and how logs escape them.

PostgreSQL refuses NUL in text, and no parameter of a DALI service means anything with a control character
other than TAB, LF or CR (multi-line ADQL). A path has no use for any. Log lines escape every control
character (C0, DEL, C1 and the Unicode line separators) so that user input cannot forge or split a line.
"""

from __future__ import annotations

import re

from tapserver.errors import UsageFault

_IN_VALUE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_IN_PATH = re.compile(r"[\x00-\x1f\x7f]")
_IN_LOG = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_IN_LOG_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def describe(char: str) -> str:
    """How a refused character is named in an error message (``U+0000``)."""
    return f"U+{ord(char):04X}"


def check_parameter(name: str, value: str) -> None:
    """UsageFault if a parameter's name or value holds a control character other than TAB, LF and CR."""
    found = _IN_VALUE.search(name)
    if found:
        raise UsageFault(f"a parameter name contains the control character {describe(found.group())}")
    found = _IN_VALUE.search(value)
    if found:
        raise UsageFault(f"parameter {name.upper()} contains the control character {describe(found.group())}")


def check_path(path: str) -> None:
    """UsageFault if a (decoded) URL path holds a control character."""
    found = _IN_PATH.search(path)
    if found:
        raise UsageFault(f"the URL path contains the control character {describe(found.group())}")


def escape_controls(text: str) -> str:
    """``text`` with every control character written as an escape (``\\n``, ``\\x00``, ``\\u2028``)."""
    return _IN_LOG.sub(_escape_one, text) if _IN_LOG.search(text) else text


def escape_controls_but_newlines(text: str) -> str:
    """As :func:`escape_controls`, but line feeds stay (for tracebacks, which are indented instead)."""
    return _IN_LOG_BUT_NEWLINE.sub(_escape_one, text) if _IN_LOG_BUT_NEWLINE.search(text) else text


def has_controls(text: str) -> bool:
    return _IN_LOG.search(text) is not None
