"""DALI request parameters: case-insensitive names, repeated values in order, multipart file parts apart,
and the checks of the parameters several services share (single-valued, MAXREC, RUNID)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import IO

from tapserver.controlchars import check_parameter
from tapserver.errors import UsageFault

#: Longest RUNID accepted (it is stored with the job and echoed in results).
MAX_RUNID_LENGTH = 64


class Params:
    """Request parameters with upper-cased names (DALI §3.1); values keep their order and case. A control
    character other than TAB, LF and CR in a name or value is a UsageFault.

    ``parts`` are the file parts of a multipart body (inline uploads), by their name as sent: an UPLOAD
    value ``t,param:Part`` names the part ``Part``.
    """

    def __init__(self, items: Iterable[tuple[str, str]] = (), parts: Mapping[str, IO[bytes]] | None = None) -> None:
        self._items: list[tuple[str, str]] = []
        self._values: dict[str, list[str]] = {}
        for name, value in items:
            check_parameter(name, value)
            upper = name.upper()
            self._items.append((upper, value))
            self._values.setdefault(upper, []).append(value)
        self.parts: dict[str, IO[bytes]] = dict(parts or {})

    def all(self, name: str) -> list[str]:
        return list(self._values.get(name.upper(), []))

    def single(self, name: str) -> str | None:
        """The one value of a single-valued parameter; a UsageFault if it was given more than once."""
        values = self._values.get(name.upper(), [])
        if len(values) > 1:
            raise UsageFault(f"parameter {name.upper()} must be given at most once (got {len(values)} values)")
        return values[0] if values else None

    def names(self) -> list[str]:
        """The upper-cased names, each once, in the order first given."""
        return list(self._values)

    def items(self) -> list[tuple[str, str]]:
        """Every (upper-cased name, value) pair in the order given."""
        return list(self._items)


def parse_maxrec(value: str | None) -> int | None:
    """MAXREC: a non-negative integer (DALI §3.4.4)."""
    if value is None or value.strip() == "":
        return None
    try:
        maxrec = int(value.strip())
    except ValueError:
        raise UsageFault(f"MAXREC must be a non-negative integer, not {value!r}") from None
    if maxrec < 0:
        raise UsageFault(f"MAXREC must be a non-negative integer, not {value!r}")
    return maxrec


def check_runid(value: str | None) -> str | None:
    """RUNID (DALI §3.4.6): any text the client chooses, up to :data:`MAX_RUNID_LENGTH` characters."""
    if value is not None and len(value) > MAX_RUNID_LENGTH:
        raise UsageFault(f"RUNID must be at most {MAX_RUNID_LENGTH} characters")
    return value
