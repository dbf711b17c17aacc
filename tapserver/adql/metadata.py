"""Result-column metadata: what the writers put in each FIELD, and the names of the output columns."""

from __future__ import annotations

from dataclasses import dataclass

from tapserver.adql.sqltypes import SqlType, votable
from tapserver.catalog.model import Column
from tapserver.votable.fields import ResultColumn as FieldColumn


@dataclass(frozen=True)
class ResultColumn(FieldColumn):
    """One output column of a translated query, with the VOTable metadata of its FIELD.

    ``sql_type`` is the PostgreSQL type of the values the SQL returns for it (geometries are already
    converted: ``double precision[]`` for DALI point/circle/polygon, ``text`` for STC-S regions);
    ``table``/``column`` name the catalog column it comes from unchanged, when it does.
    """

    sql_type: str = "text"
    table: str | None = None
    column: str | None = None


@dataclass(frozen=True)
class Meta:
    """What the translator knows about the meaning of a value besides its type."""

    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    description: str | None = None
    column: Column | None = None  # the catalog column, when the value is one unchanged
    table: str | None = None

    def unit_only(self) -> Meta:
        return Meta(unit=self.unit)

    def keep_quantity(self) -> Meta:
        """The same physical quantity (MIN, MAX, ROUND...): unit and UCD stay, the column link goes."""
        return Meta(unit=self.unit, ucd=self.ucd, description=self.description)


EMPTY = Meta()


def of_column(column: Column, table: str | None) -> Meta:
    return Meta(unit=column.unit, ucd=column.ucd, utype=column.utype, description=column.description,
                column=column, table=table)


def result_column(name: str, t: SqlType, meta: Meta, sql_type: str) -> ResultColumn:
    """The FIELD of an output column: the catalog's declaration for a plain column, else inferred."""
    if meta.column is not None:
        c = meta.column
        return ResultColumn(name=name, datatype=c.datatype, arraysize=c.arraysize, xtype=c.xtype,
                            unit=c.unit, ucd=c.ucd, utype=c.utype, description=c.description,
                            sql_type=sql_type, table=meta.table, column=c.name)
    datatype, arraysize, xtype = votable(t)
    return ResultColumn(name=name, datatype=datatype, arraysize=arraysize, xtype=xtype, unit=meta.unit,
                        ucd=meta.ucd, utype=meta.utype, description=meta.description, sql_type=sql_type)


def unique_names(names: list[str]) -> list[str]:
    """Make output names unique (ignoring case): later duplicates get _2, _3, ..."""
    taken = {n.lower() for n in names}
    seen: set[str] = set()
    next_suffix: dict[str, int] = {}
    result = []
    for name in names:
        candidate = name
        if candidate.lower() in seen:
            counter = next_suffix.get(name.lower(), 2)
            while f"{name}_{counter}".lower() in taken or f"{name}_{counter}".lower() in seen:
                counter += 1
            next_suffix[name.lower()] = counter + 1
            candidate = f"{name}_{counter}"
        seen.add(candidate.lower())
        result.append(candidate)
    return result
