"""Result column metadata (what the ADQL translation produces) and its VOTable FIELD rendering."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tapserver.errors import FatalFault
from tapserver.votable import xmlutil

#: VOTable datatypes the writers can serialise (bit and the complex types never come out of PostgreSQL).
SUPPORTED_DATATYPES = frozenset(
    {"boolean", "unsignedByte", "short", "int", "long", "float", "double", "char", "unicodeChar"}
)
#: Magic null values declared with ``<VALUES null>`` where no null flag exists (BINARY, FITS TNULL).
INTEGER_NULLS = {"unsignedByte": 255, "short": -32768, "int": -(2**31), "long": -(2**63)}

#: Primary UCDs of a time coordinate (an instant, not a duration).
TIME_UCDS = frozenset({"time.start", "time.end", "time.epoch"})

_ARRAYSIZE = re.compile(r"^(?:\d+x)*(?:\d+\*?|\*)$")


@dataclass(frozen=True)
class ResultColumn:
    """One column of a query result, with the VOTable metadata of its FIELD."""

    name: str
    datatype: str
    arraysize: str | None = None
    xtype: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    description: str | None = None


def is_mjd_time(column: ResultColumn) -> bool:
    """True when the column holds instants as MJD in TT: a scalar double in unit ``d`` whose primary UCD
    is a time coordinate (``time.start``, ``time.end``, ``time.epoch``), as ingest writes them (durations
    such as ``t_exptime`` have other units and UCDs). The writers declare such columns as times."""
    primary = (column.ucd or "").split(";")[0].strip().lower()
    return (column.datatype == "double" and not column.arraysize and column.unit == "d"
            and primary in TIME_UCDS)


@dataclass(frozen=True)
class Shape:
    """How many elements a cell holds: ``count`` when fixed, else variable up to ``limit`` (None: any)."""

    scalar: bool
    count: int | None
    limit: int | None = None

    @property
    def variable(self) -> bool:
        return self.count is None


def shape(column: ResultColumn) -> Shape:
    """Parse the arraysize of a column (``None``, ``n``, ``n*``, ``*``, ``NxM``, ``Nx*``)."""
    size = column.arraysize
    if size is None or size == "":
        return Shape(scalar=True, count=1)
    size = size.strip()
    if not _ARRAYSIZE.match(size):
        raise FatalFault(f"column {column.name!r}: invalid arraysize {size!r}")
    *dims, last = size.split("x")
    fixed = 1
    for dim in dims:
        fixed *= int(dim)
    if last == "*":
        return Shape(scalar=False, count=None)
    if last.endswith("*"):
        return Shape(scalar=False, count=None, limit=fixed * int(last[:-1]))
    return Shape(scalar=False, count=fixed * int(last))


def check_column(column: ResultColumn) -> Shape:
    """Validate a column's datatype/arraysize for the writers; returns its shape."""
    if column.datatype not in SUPPORTED_DATATYPES:
        raise FatalFault(f"column {column.name!r}: VOTable datatype {column.datatype!r} is not supported")
    result = shape(column)
    if result.count == 0:
        raise FatalFault(f"column {column.name!r}: arraysize 0")
    return result


_NCNAME_BAD = re.compile(r"[^A-Za-z0-9_.\-]")


def field_ids(columns: Sequence[ResultColumn]) -> tuple[str, ...]:
    """Stable, unique XML IDs for the FIELDs: the column name made an NCName, deduplicated in order.

    ``s_ra`` stays ``s_ra``; ``"my col"`` becomes ``my_col``; a second ``x`` becomes ``x_2``. DataLink
    service descriptors compute the same IDs to reference the FIELDs (``ref=``).
    """
    used: set[str] = set()
    ids: list[str] = []
    for column in columns:
        base = _NCNAME_BAD.sub("_", column.name) or "col"
        if not (base[0].isalpha() or base[0] == "_"):
            base = "_" + base
        candidate, n = base, 1
        while candidate.lower() in used:
            n += 1
            candidate = f"{base}_{n}"
        used.add(candidate.lower())
        ids.append(candidate)
    return tuple(ids)


def render_field(column: ResultColumn, field_id: str, *, null_value: str | None = None,
                 ref: str | None = None) -> str:
    """The FIELD element of a column (arraysize omitted for scalars), with an optional VALUES null and
    ``ref`` (the ID of the TIMESYS of a time column)."""
    parts = [f'<FIELD name="{xmlutil.attr(column.name)}" ID="{xmlutil.attr(field_id)}"',
             f' datatype="{column.datatype}"']
    for key, value in (("arraysize", column.arraysize), ("xtype", column.xtype), ("ref", ref),
                       ("unit", column.unit), ("ucd", column.ucd), ("utype", column.utype)):
        if value:
            parts.append(f' {key}="{xmlutil.attr(value)}"')
    children = []
    if column.description:
        children.append(f"<DESCRIPTION>{xmlutil.text(column.description)}</DESCRIPTION>")
    if null_value is not None:
        children.append(f'<VALUES null="{null_value}"/>')
    if children:
        parts.append(">" + "".join(children) + "</FIELD>")
    else:
        parts.append("/>")
    return "".join(parts)
