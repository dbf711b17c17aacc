"""The output format registry: RESPONSEFORMAT values (short aliases and MIME types) -> writers.

Both the parameter parsing (:func:`find_format`) and the capabilities document (:data:`FORMATS`) read
it. When a client names a format by MIME type, the response carries exactly that type
(``content_type``); by alias or by default it carries the format's canonical ``mime``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from tapserver.errors import UsageFault
from tapserver.votable.base import TableWriter, WriteContext

_TR = "ivo://ivoa.net/std/TAPRegExt#"


@dataclass(frozen=True)
class OutputFormat:
    """One output format: identity, what the capabilities say about it, and its writer."""

    name: str
    mime: str
    aliases: tuple[str, ...]
    label: str
    extension: str
    writer: Callable[[WriteContext, OutputFormat], TableWriter]
    ivo_id: str | None = None
    #: Other MIME types that select this format (compared without parameters' case).
    accepts: tuple[str, ...] = ()
    #: The Content-Type to answer with; the canonical mime unless the client asked by MIME type.
    response_type: str | None = None
    #: CSV only: write the header line (``text/csv;header=absent`` turns it off).
    header: bool = True

    @property
    def content_type(self) -> str:
        return self.response_type or self.mime

    @property
    def is_votable(self) -> bool:
        return self.name.startswith("votable")

    def make_writer(self, context: WriteContext) -> TableWriter:
        return self.writer(context, self)


def _votable(kind: str) -> Callable[[WriteContext, OutputFormat], TableWriter]:
    def make(context: WriteContext, fmt: OutputFormat) -> TableWriter:
        from tapserver.votable import writers

        cls = {"binary2": writers.Binary2Writer, "binary": writers.BinaryWriter,
               "tabledata": writers.TabledataWriter}[kind]
        return cls(context)

    return make


def _csv(context: WriteContext, fmt: OutputFormat) -> TableWriter:
    from tapserver.formats.text import CsvWriter

    return CsvWriter(context, header=fmt.header)


def _tsv(context: WriteContext, fmt: OutputFormat) -> TableWriter:
    from tapserver.formats.text import TsvWriter

    return TsvWriter(context)


def _fits(context: WriteContext, fmt: OutputFormat) -> TableWriter:
    from tapserver.formats.fits import FitsWriter

    return FitsWriter(context)


def _parquet(context: WriteContext, fmt: OutputFormat) -> TableWriter:
    from tapserver.formats.parquet import ParquetWriter

    return ParquetWriter(context)


VOTABLE = "application/x-votable+xml"

FORMATS: tuple[OutputFormat, ...] = (
    OutputFormat("votable", VOTABLE, ("votable", "votable/b2"), "VOTable 1.4, BINARY2 serialisation",
                 "vot", _votable("binary2"), ivo_id=_TR + "output-votable-binary2",
                 accepts=(f"{VOTABLE};serialization=binary2", "text/xml", "application/xml",
                          "text/x-votable+xml", "text/xml;serialization=binary2")),
    OutputFormat("votable-td", f"{VOTABLE};serialization=TABLEDATA", ("votable/td",),
                 "VOTable 1.4, TABLEDATA serialisation", "vot", _votable("tabledata"),
                 ivo_id=_TR + "output-votable-td", accepts=("text/xml;serialization=tabledata",)),
    OutputFormat("votable-binary", f"{VOTABLE};serialization=BINARY", ("votable/b",),
                 "VOTable 1.4, BINARY serialisation", "vot", _votable("binary"),
                 ivo_id=_TR + "output-votable-binary", accepts=("text/xml;serialization=binary",)),
    OutputFormat("csv", "text/csv;header=present", ("csv",), "Comma-separated values (RFC 4180)", "csv",
                 _csv, accepts=("text/csv",)),
    OutputFormat("tsv", "text/tab-separated-values", ("tsv",), "Tab-separated values", "tsv", _tsv),
    OutputFormat("fits", "application/fits", ("fits",), "FITS binary table", "fits", _fits,
                 accepts=("image/fits",)),
    OutputFormat("parquet", "application/vnd.apache.parquet", ("parquet",),
                 "Apache Parquet with VOTable metadata (VOParquet 1.0)", "parquet", _parquet,
                 accepts=("application/x-parquet",)),
)

DEFAULT_FORMAT = FORMATS[0]


def _parse_mime(value: str) -> tuple[str, dict[str, str]]:
    """``type/sub; a=b; c="d"`` -> ("type/sub", {"a": "b", "c": "d"}): type and names lower-cased."""
    base, *params = value.split(";")
    parsed: dict[str, str] = {}
    for param in params:
        if not param.strip():
            continue
        name, sep, val = param.partition("=")
        if not sep:
            raise UsageFault(f"malformed MIME type parameter {param.strip()!r} in RESPONSEFORMAT")
        parsed[name.strip().lower()] = val.strip().strip('"').strip()
    return base.strip().lower(), parsed


def _key(base: str, params: dict[str, str]) -> str:
    return base + "".join(f";{k}={v.lower()}" for k, v in sorted(params.items()))


_BY_ALIAS = {alias.lower(): fmt for fmt in FORMATS for alias in (*fmt.aliases, fmt.name)}
_BY_MIME: dict[str, OutputFormat] = {}
for _fmt in FORMATS:
    for _mime in (_fmt.mime, *_fmt.accepts):
        _BY_MIME.setdefault(_key(*_parse_mime(_mime)), _fmt)


def find_format(value: str | None) -> OutputFormat:
    """The output format for a RESPONSEFORMAT/FORMAT value: an alias (``votable``, ``csv``, ...) or a
    MIME type (type and parameter names case-insensitive, ``serialization`` value too; ``charset``
    must be UTF-8). None or empty gives the default (VOTable BINARY2). Unknown values: UsageFault."""
    if value is None or not value.strip():
        return DEFAULT_FORMAT
    text = value.strip()
    alias = _BY_ALIAS.get(text.lower())
    if alias is not None:
        return alias
    if "/" not in text:
        raise UsageFault(f"unsupported RESPONSEFORMAT {text!r}; supported: {', '.join(supported())}")
    base, params = _parse_mime(text)
    charset = params.pop("charset", None)
    if charset is not None and charset.lower() not in ("utf-8", "utf8"):
        raise UsageFault(f"unsupported charset {charset!r} in RESPONSEFORMAT: results are UTF-8")
    header = True
    if base == "text/csv" and "header" in params:
        flag = params.pop("header").lower()
        if flag not in ("present", "absent"):
            raise UsageFault(f"text/csv header must be present or absent, not {flag!r}")
        header = flag == "present"
    fmt = _BY_MIME.get(_key(base, params))
    if fmt is None:
        raise UsageFault(f"unsupported RESPONSEFORMAT {text!r}; supported: {', '.join(supported())}")
    return replace(fmt, response_type=text, header=header)


def supported() -> list[str]:
    """Every canonical MIME type and alias, for error messages and forms."""
    out: list[str] = []
    for fmt in FORMATS:
        out.append(fmt.mime)
        out.extend(fmt.aliases)
    return out
