"""The DALI parameter set: names case-insensitive, repeated values in order, control characters refused."""

from __future__ import annotations

import io
import re

import pytest

from tapserver.dali.params import MAX_RUNID_LENGTH, Params, check_runid
from tapserver.errors import UsageFault

pytestmark = pytest.mark.nodb

KEPT = [
    ("one name in three cases", [("id", "a"), ("ID", "b"), ("Id", "c")],
     [("ID", "a"), ("ID", "b"), ("ID", "c")], {"ID": ["a", "b", "c"]}),
    ("interleaved names keep the order given", [("b", "1"), ("A", "2"), ("B", "3")],
     [("B", "1"), ("A", "2"), ("B", "3")], {"B": ["1", "3"], "A": ["2"]}),
    ("values keep their case and blanks", [("Q", " Select\tX\r\n"), ("E", "")],
     [("Q", " Select\tX\r\n"), ("E", "")], {"Q": [" Select\tX\r\n"], "E": [""]}),
    ("no parameters", [], [], {}),
]


@pytest.mark.parametrize(("what", "given", "items", "values"), KEPT, ids=[row[0] for row in KEPT])
def test_names_values_and_order(what: str, given: list[tuple[str, str]], items: list[tuple[str, str]],
                                values: dict[str, list[str]]) -> None:
    params = Params(given)
    assert params.items() == items
    assert params.names() == list(values)
    for name, expected in values.items():
        assert params.all(name) == expected
        assert params.all(name.lower()) == expected
    assert params.all("ABSENT") == [] and params.single("absent") is None


@pytest.mark.parametrize(("given", "name", "single"), [
    ([("maxrec", "5")], "MAXREC", "5"),
    ([("MAXREC", "5")], "maxrec", "5"),
    ([("MaxRec", "")], "MAXREC", ""),
])
def test_single(given: list[tuple[str, str]], name: str, single: str) -> None:
    assert Params(given).single(name) == single


def test_single_refuses_a_repeated_parameter() -> None:
    with pytest.raises(UsageFault, match=r"parameter MAXREC must be given at most once \(got 2 values\)"):
        Params([("maxrec", "1"), ("MAXREC", "1")]).single("MaxRec")


REFUSED = [
    ("NUL in a value", [("QUERY", "SELECT 1\x00")], "parameter QUERY contains the control character U+0000"),
    ("ESC in a value", [("id", "\x1b[2J")], "parameter ID contains the control character U+001B"),
    ("DEL in a value", [("X", "a\x7fb")], "U+007F"),
    ("NUL in a name", [("I\x00D", "x")], "a parameter name contains the control character U+0000"),
    ("vertical tab in a name", [("A\x0b", "x")], "U+000B"),
]


@pytest.mark.parametrize(("what", "given", "message"), REFUSED, ids=[row[0] for row in REFUSED])
def test_control_characters_are_refused(what: str, given: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(UsageFault, match=re.escape(message)):
        Params(given)


def test_parts_keep_their_names_as_sent() -> None:
    part = io.BytesIO(b"<VOTABLE/>")
    params = Params([("upload", "t,param:MyTable")], {"MyTable": part})
    assert params.parts == {"MyTable": part}
    assert params.all("UPLOAD") == ["t,param:MyTable"]
    assert "MYTABLE" not in params.parts


@pytest.mark.parametrize(("value", "accepted"), [
    (None, True), ("", True), ("x" * MAX_RUNID_LENGTH, True), ("x" * (MAX_RUNID_LENGTH + 1), False),
    ("é" * MAX_RUNID_LENGTH, True),
])
def test_runid_length(value: str | None, accepted: bool) -> None:
    if accepted:
        assert check_runid(value) == value
    else:
        with pytest.raises(UsageFault, match="RUNID must be at most 64 characters"):
            check_runid(value)
