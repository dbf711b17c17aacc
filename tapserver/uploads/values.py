"""VOTable cell -> COPY value: ``(value, mask) -> Python value`` converters, one per column.

Geometry values are checked here, before pgsphere sees them: a coordinate must be finite with the latitude
within +-90 degrees, a circle's radius within [0, 90] degrees, a polygon needs three distinct vertices.
A refused value raises :class:`BadValue`; the caller names the upload, column and row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

Converter = Callable[[Any, Any], Any]


class BadValue(ValueError):
    """A cell this service cannot store (the message says why)."""


def masked(mask: Any) -> bool:
    return bool(np.all(mask)) if np.ndim(mask) else bool(mask)


def string(value: Any, mask: Any) -> str | None:
    if masked(mask) or value is None or value is np.ma.masked:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).replace("\x00", "")


def timestamp(value: Any, mask: Any) -> str | None:
    text_value = string(value, mask)
    if text_value is None or not text_value.strip():
        return None
    return text_value.strip()


def scalar_converter(datatype: str) -> Converter:
    if datatype in ("boolean", "bit"):
        def boolean(value: Any, mask: Any) -> bool | None:
            return None if masked(mask) else bool(value)
        return boolean
    if datatype in ("float", "double"):
        def floating(value: Any, mask: Any) -> float | None:
            if masked(mask):
                return None
            number = float(value)
            return None if math.isnan(number) else number
        return floating

    def integer(value: Any, mask: Any) -> int | None:
        return None if masked(mask) else int(value)
    return integer


def _elements(value: Any, mask: Any) -> list[Any] | None:
    if value is None or value is np.ma.masked:
        return None
    data = np.ma.getdata(value)
    if isinstance(value, np.ma.MaskedArray):
        item_mask = np.ma.getmaskarray(value)
    else:
        item_mask = np.broadcast_to(mask, np.shape(data))
    flat = np.ravel(data).tolist()
    flat_mask = np.ravel(item_mask).tolist() if np.ndim(item_mask) else [bool(item_mask)] * len(flat)
    return [None if m else v for v, m in zip(flat, flat_mask, strict=False)]


def array_converter(datatype: str) -> Converter:
    floating = datatype in ("float", "double")
    boolean = datatype in ("boolean", "bit")

    def convert(value: Any, mask: Any) -> list[Any] | None:
        if np.ndim(mask) == 0 and bool(mask):
            return None
        items = _elements(value, mask)
        if items is None:
            return None
        if floating:
            return [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in items]
        if boolean:
            return [None if v is None else bool(v) for v in items]
        return [None if v is None else int(v) for v in items]
    return convert


def _numbers(value: Any, mask: Any, count: int | None) -> list[float] | None:
    """The numbers of a geometry cell; None (NULL) when masked, NaN or of the wrong length."""
    items = _elements(value, mask)
    if items is None or any(v is None or (isinstance(v, float) and math.isnan(v)) for v in items):
        return None
    if count is not None and len(items) != count:
        return None
    numbers = [float(v) for v in items]
    if not all(math.isfinite(v) for v in numbers):
        raise BadValue("a coordinate is not finite")
    return numbers


def _position(lon: float, lat: float) -> str:
    if not -90.0 <= lat <= 90.0:
        raise BadValue(f"latitude {lat!r} is outside [-90, 90] degrees")
    return f"({lon!r}d,{lat!r}d)"


def spoint(value: Any, mask: Any) -> str | None:
    nums = _numbers(value, mask, 2)
    return None if nums is None else _position(nums[0], nums[1])


def scircle(value: Any, mask: Any) -> str | None:
    nums = _numbers(value, mask, 3)
    if nums is None:
        return None
    if not 0.0 <= nums[2] <= 90.0:
        raise BadValue(f"circle radius {nums[2]!r} is outside [0, 90] degrees")
    return f"<{_position(nums[0], nums[1])},{nums[2]!r}d>"


def spoly(value: Any, mask: Any) -> str | None:
    nums = _numbers(value, mask, None)
    if nums is None or len(nums) < 6 or len(nums) % 2:
        return None
    vertices = [(nums[i], nums[i + 1]) for i in range(0, len(nums), 2)]
    if len(set(vertices)) < 3:
        raise BadValue("a polygon needs at least three distinct vertices")
    return "{" + ",".join(_position(lon, lat) for lon, lat in vertices) + "}"


GEOMETRY_CONVERTERS: Mapping[str, Converter] = {"spoint": spoint, "scircle": scircle, "spoly": spoly}
