"""Typed access to DL3 keywords whose types vary between writers (dl3-formats.md §8.7-8.9).

Strings hold numbers ('2000.0', HESS GEOLON), integers hold floats (OBS_ID 5029747.), '' and 'string' stand for
"unknown". Every coercion is explicit; a value that cannot be read raises IngestError naming HDU and keyword.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ingest.errors import IngestError
from ingest.headers import Cards

# Values writers put where they had nothing to say (CTA 1DC, ctools).
PLACEHOLDER_TEXT = frozenset({"", "string", "none", "null", "n/a", "unknown"})


def obs_id_text(value: Any) -> str | None:
    """OBS_ID as ObsCore text: integers (and integral floats or numeric strings) without leading zeros, other
    strings stripped ('chunks 103 - 133' stays as it is)."""
    value = python_value(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if math.isfinite(value) and value.is_integer() else None
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit():
        return str(int(text))
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if math.isfinite(number) and number.is_integer() else text


def python_value(value: Any) -> Any:
    """A FITS table cell or header value as a plain Python value (bytes decoded, numpy scalars unwrapped,
    masked and NaN values as None)."""
    if value is None or value is np.ma.masked:
        return None
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").strip()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").strip()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        return value.strip()
    return value


class Keywords:
    """The keywords of one HDU, with a fallback mapping (an obs-index row) for keywords the HDU lacks."""

    def __init__(self, path: str, hdu: str, header: Cards, fallback: Mapping[str, Any] | None = None) -> None:
        self.path = path
        self.hdu = hdu
        self.header = header
        self.fallback = fallback or {}
        self.warnings: list[str] = []

    def raw(self, key: str) -> Any:
        """The header value, else the fallback value, as a plain Python value (None when absent)."""
        if key in self.header:
            value = python_value(self.header[key])
            if value is not None and value != "":
                return value
        return python_value(self.fallback.get(key))

    def has(self, key: str) -> bool:
        return self.raw(key) is not None

    def text(self, key: str) -> str | None:
        """A string value, stripped; placeholders ('', 'string') become None."""
        value = self.raw(key)
        if value is None:
            return None
        text = str(value).strip()
        return None if text.lower() in PLACEHOLDER_TEXT else text

    def number(self, key: str) -> float | None:
        """A float (strings holding numbers are accepted); an unreadable value becomes None with a warning."""
        value = self.raw(key)
        if value is None:
            return None
        number = _float(value)
        if number is None:
            self.warnings.append(f"{self.path}: HDU {self.hdu}: keyword {key}: not a number: {value!r}; "
                                 "stored as NULL")
        return number

    def required(self, key: str) -> float:
        """A number that must be there: missing or unreadable raises IngestError naming the keyword."""
        value = self.raw(key)
        if value is None:
            raise self.error(key, "missing (required)")
        number = _float(value)
        if number is None:
            raise self.error(key, f"not a number: {value!r}")
        return number

    def integer(self, key: str) -> int | None:
        """An integer (integral floats and numeric strings accepted), else None with a warning."""
        number = self.number(key)
        if number is None:
            return None
        if not number.is_integer():
            self.warnings.append(f"{self.path}: HDU {self.hdu}: keyword {key}: {number!r} is not an integer; "
                                 "stored as NULL")
            return None
        return int(number)

    def all_values(self, key: str) -> list[Any]:
        """Every value of a keyword that appears more than once (MAGIC writes TELLIST twice)."""
        return [python_value(value) for value in self.header.all(key)]

    def error(self, key: str, reason: str) -> IngestError:
        return IngestError(self.path, reason, hdu=self.hdu, keyword=key)


def _float(value: Any) -> float | None:
    """A finite float from a number or a numeric string, else None (booleans are not numbers)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value) if isinstance(value, int | float) else float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None
