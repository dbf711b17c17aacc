"""The contract between the query pipeline (tapserver.tap.results) and the output writers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

from tapserver.votable.fields import ResultColumn, field_ids
from tapserver.votable.sqlenc import Cell

CopyFormat = Literal["binary", "rows", "csv", "text"]


@dataclass(frozen=True)
class WriteContext:
    """What a writer needs besides the data: columns, FIELD IDs, INFOs and extra RESOURCEs."""

    columns: Sequence[ResultColumn]
    info: Mapping[str, str] = field(default_factory=dict)
    extra_resources: Sequence[bytes] = ()
    ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.ids:
            object.__setattr__(self, "ids", field_ids(self.columns))


class TableWriter(ABC):
    """Turns the output of ``COPY (SELECT <select_list> ...) TO STDOUT`` into a document, batch by batch.

    ``copy_format`` says how the pipeline runs COPY: ``binary`` (the select list is one bytea/text
    expression; the pipeline strips COPY's framing and hands over the concatenated values), ``rows``
    (binary COPY of any select list; the rows are handed over whole, with their start offsets, to
    :meth:`body_rows`), ``csv`` or ``text`` (the COPY text is handed over as is, one line per row).
    """

    copy_format: ClassVar[CopyFormat] = "binary"
    #: True when a failure after the first byte can be reported inside the document.
    reports_errors: ClassVar[bool] = False

    def __init__(self, context: WriteContext) -> None:
        self.context = context

    @abstractmethod
    def select_list(self, cells: Sequence[Cell]) -> list[str]:
        """The SQL select list whose COPY output :meth:`body` consumes."""

    def head(self) -> bytes:
        """Bytes before the first row (sent together with the first batch)."""
        return b""

    @abstractmethod
    def body(self, payload: bytes, rows: int) -> Iterable[bytes]:
        """Encode one batch of ``rows`` rows of COPY payload."""

    def body_rows(self, payload: bytes, starts: npt.NDArray[np.int64]) -> Iterable[bytes]:
        """Encode one batch of binary COPY rows (``copy_format`` ``rows``): ``payload`` holds the rows
        one after the other, each from its field count on; ``starts`` says where each begins."""
        raise NotImplementedError

    @abstractmethod
    def tail(self, overflow: bool) -> Iterable[bytes]:
        """Bytes after the last row; ``overflow`` when rows were cut at MAXREC."""

    def abort(self, message: str) -> bytes | None:
        """Bytes that end the document after a mid-stream failure, or None if the format cannot say
        so (the stream is then cut short and the error raised)."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (spool files); called whatever happened."""
