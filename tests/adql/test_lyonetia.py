"""The public IVOA lyonetia ADQL validation sets: the engine judges each query as the set does.

The sets (GPL-3.0) are read from ``../shared/data/lyonetia`` and never copied into the project; the
module is skipped when they are absent. Each ``<query>`` holds ``<adql valid="true|false">``. Syntax
verdicts are checked with ``parse``; the verdicts that are about names, functions or coordinate systems
(``SEMANTIC``) need a catalog and are checked with ``translate`` against a small one. A clean verdict is
an accepted query or a UsageFault; anything else raised is a crash and fails the test. Every verdict the
project deliberately disagrees with is in ``DISAGREEMENTS`` with its reason (and in docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from tapserver.adql import parse, translate
from tapserver.catalog.model import Catalog, Schema, Table, col
from tapserver.errors import UsageFault

REPO = Path(__file__).resolve().parents[2]
LYONETIA = REPO.parent / "shared" / "data" / "lyonetia"

# The verdicts that depend on the catalog: (set file, uuid) -> what the refusal must say.
SEMANTIC: dict[tuple[str, str], str] = {
    ("gavo/geometry.xml", "0996bf74-4509-11e6-b60c-9d2c33f9b7a2"): "unsupported coordinate system 'fk5'",
    ("gavo/geometry.xml", "0dc25eaa-4509-11e6-b60c-9d2c33f9b7a2"): "unsupported coordinate system 'fk5'",
    ("ivoa/O1_geometrical_functions.xml", "0996bf74-4509-11e6-b60c-9d2c33f9b7a2"):
        "unsupported coordinate system 'fk5'",
    ("ivoa/O1_geometrical_functions.xml", "0dc25eaa-4509-11e6-b60c-9d2c33f9b7a2"):
        "unsupported coordinate system 'fk5'",
    ("gavo/simpleunit.xml", "3a38115a-4509-11e6-8c55-592ac18c5eb7"): "unknown function TAN2()",
    ("ivoa/O2_user_defined_functions.xml", "29c75d48-e525-4e92-af3f-c5e8f3e5f26c"):
        "unknown function my_undefined_function()",
}

# The tables the SEMANTIC queries read.
CATALOG = Catalog([Schema("lyonetia", None, (
    Table("lyonetia", "y", None, (col("x", "double precision", "a number"),)),
    Table("lyonetia", "atable", None, (col("id", "bigint", "an id"), col("ra", "double precision", "ra"),
                                       col("dec", "double precision", "dec"))),
))])

# (set file, uuid) -> why the project's verdict differs from the set's.
DISAGREEMENTS: dict[tuple[str, str], str] = {
    ("gavo/geometry.xml", "c6a8aa4c-450d-11e6-b20b-6d529bdffd4c"):
        "leniency: a bare CONTAINS(...) or INTERSECTS(...) is accepted as a WHERE condition (means = 1)",
    ("ivoa/O1_geometrical_functions.xml", "c6a8aa4c-450d-11e6-b20b-6d529bdffd4c"):
        "leniency: a bare CONTAINS(...) or INTERSECTS(...) is accepted as a WHERE condition (means = 1)",
    ("gavo/simpleunit.xml", "5e700476-4458-11e6-96e2-28b2bdcff70b"):
        "'89x' is refused as a malformed number rather than read as 89 with the alias x",
    ("ivoa/2_from.xml", "d4c3a72c-4458-11e6-96e2-28b2bdcff70b"):
        "the sets disagree: ADQL's BNF makes the join specification optional and the gavo set marks 13 "
        "joins without ON/USING valid, so parse accepts them; translate then refuses them "
        "('a JOIN needs ON or USING')",
}


@dataclass(frozen=True)
class Case:
    key: tuple[str, str]
    text: str
    valid: bool


def _cases() -> list[Case]:
    if not LYONETIA.is_dir():
        return []
    cases = []
    seen: dict[tuple[str, str], int] = {}
    for path in sorted(LYONETIA.glob("*/*.xml")):
        name = path.relative_to(LYONETIA).as_posix()
        for query in etree.parse(str(path)).iter("query"):
            adql = query.find("adql")
            assert adql is not None and adql.get("valid") in ("true", "false"), (name, query.get("uuid"))
            uuid = query.get("uuid") or ""
            seen[name, uuid] = seen.get((name, uuid), 0) + 1
            if seen[name, uuid] > 1:  # two sets reuse a uuid for a second query
                uuid += f"#{seen[name, uuid]}"
            cases.append(Case((name, uuid), adql.text or "", adql.get("valid") == "true"))
    return cases


CASES = _cases()
pytestmark = pytest.mark.skipif(not CASES, reason=f"the lyonetia sets are not in {LYONETIA}")


def verdict(case: Case) -> tuple[bool, str]:
    """(accepted, refusal message) of the engine; any exception other than a UsageFault propagates."""
    try:
        if case.key in SEMANTIC:
            translate(case.text, CATALOG)
        else:
            parse(case.text)
    except UsageFault as fault:
        return False, str(fault)
    return True, ""


@pytest.mark.parametrize("case", CASES, ids=[f"{c.key[0]}:{c.key[1]}" for c in CASES])
def test_verdict(case: Case) -> None:
    accepted, message = verdict(case)
    if case.key in DISAGREEMENTS:
        assert accepted != case.valid, f"now agrees with the set: remove it from DISAGREEMENTS ({message})"
        return
    assert accepted == case.valid, f"the set says valid={case.valid}: {message or 'accepted'}"
    if case.key in SEMANTIC:
        assert SEMANTIC[case.key] in message


def test_agreement_figures() -> None:
    """The tables of this module are about real cases, and the agreement is at least 480 of 495."""
    keys = {c.key for c in CASES}
    assert len(CASES) == len(keys) == 495
    assert set(SEMANTIC) <= keys and set(DISAGREEMENTS) <= keys
    assert len(CASES) - len(DISAGREEMENTS) >= 480
