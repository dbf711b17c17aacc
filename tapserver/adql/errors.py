"""ADQL faults: every error a query text can cause is a UsageFault, with its position when known."""

from __future__ import annotations

from sqlglot import exp

from tapserver.errors import UsageFault


def position_of(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def start_of(node: exp.Expr) -> int | None:
    """Offset in the query text of the first token of ``node`` that sqlglot located, if any."""
    for candidate in node.bfs():
        start = candidate.meta.get("start") if candidate.meta else None
        if isinstance(start, int):
            return start
    return None


class ADQLError(UsageFault):
    """The query is not valid ADQL for this service (unknown name, unsupported construct, ...)."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        self.line = line
        self.column = column
        self.detail = message
        if line is not None and column is not None:
            message = f"line {line}, column {column}: {message}"
        super().__init__(message)


class ADQLSyntaxError(ADQLError):
    """The query text cannot be read as ADQL; ``line`` and ``column`` locate the problem (1-based)."""

    line: int
    column: int

    def __init__(self, message: str, *, line: int, column: int) -> None:
        super().__init__(f"ADQL syntax error: {message}", line=line, column=column)
