"""Metadata of computed columns never lies: a unit (and a UCD) only where the expression provably has it."""

from __future__ import annotations

import pytest

from tapserver.adql import translate
from tapserver.catalog import declared_catalog
from tapserver.tap.examples import EXAMPLES, Example

CATALOG = declared_catalog()
EXPOSURE = "time.duration;obs.exposure"

# (select expression over ivoa.obscore, unit of the result, UCD of the result)
RULES: list[tuple[str, str | None, str | None]] = [
    ("t_exptime", "s", EXPOSURE),                               # the column as declared
    ("SUM(t_exptime)", "s", None),                              # aggregates of one quantity keep its unit
    ("AVG(t_exptime)", "s", None),
    ("MIN(t_exptime)", "s", EXPOSURE),
    ("MAX(t_exptime)", "s", EXPOSURE),
    ("SUM(t_exptime) / 3600.0", None, None),                    # scaled by a number: unit unknown
    ("t_exptime * 2", None, None),
    ("2 * t_exptime", None, None),
    ("s_fov / 2", None, None),
    ("access_estsize * 1024", None, None),
    ("t_exptime + 1", None, None),                              # a number has no unit
    ("t_max - t_min", "d", None),                               # like quantities: the unit stays
    ("t_min + t_min", "d", "time.start;obs.exposure"),          # ... and the UCD when both share it
    ("t_exptime + t_min", None, None),                          # s + d: nothing provable
    ("s_ra * s_dec", "deg**2", None),                           # product of two columns: derived unit
    ("em_max / t_exptime", "m.s**-1", None),                    # quotient: derived unit
    ("t_exptime / t_exptime", None, None),                      # dimensionless
    ("SUM(t_exptime) / COUNT(*)", None, None),                  # COUNT has no unit
    ("-t_exptime", "s", None),
    ("ABS(s_dec)", "deg", None),
    ("(t_max - t_min)", "d", None),
    ("IN_UNIT(SUM(t_exptime), 'h')", "h", None),                # the way to get hours with a unit
    ("COUNT(*)", None, "meta.number"),
]


@pytest.mark.parametrize(("expression", "unit", "ucd"), RULES, ids=[r[0] for r in RULES])
def test_unit_rules(expression: str, unit: str | None, ucd: str | None) -> None:
    (column,) = translate(f"SELECT {expression} AS v FROM ivoa.obscore", CATALOG).columns
    assert (column.unit, column.ucd) == (unit, ucd)


def test_hours_are_not_seconds() -> None:
    (column,) = translate("SELECT SUM(t_exptime)/3600.0 AS hours FROM ivoa.obscore", CATALOG).columns
    assert column.unit != "s"


@pytest.mark.parametrize("example", [e for e in EXAMPLES if "livetime_" in e.query], ids=lambda e: e.id)
def test_examples_declare_no_unit_their_live_times_do_not_have(example: Example) -> None:
    """The examples give live times in hours or minutes by dividing seconds by a number (IN_UNIT would keep
    a unit, but taplint's ADQL parser does not know it and warns on the examples): no unit, never "s"."""
    columns = translate(example.query, CATALOG).columns
    units = {c.name: c.unit for c in columns if c.name.startswith("livetime_")}
    assert units and all(unit is None for unit in units.values()), units
