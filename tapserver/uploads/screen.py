"""A streaming screen of an upload's XML before astropy parses it: refuses what would make the parser open a
file or URL, expand entities, or read more rows or columns than allowed.

astropy's VOTable parser follows ``<STREAM href=...>`` (``file:``, ``http:``, ``ftp:``, relative paths) and
expands internal entities; this pass runs expat (the parser astropy uses) over the same bytes first,
keeping nothing but counters, and stops at the first thing refused:

- a DOCTYPE with an internal subset, any ENTITY declaration, any external entity reference;
- a STREAM with an ``href`` (only inline base64 streams are read), FITS and PARQUET serialisations (which
  astropy reads only through an href);
- a TABLE with more than ``max_rows`` TABLEDATA rows (or declaring more in ``nrows``, which astropy
  would allocate) or more than :data:`MAX_COLUMNS` FIELDs;
- a FIELD with a zero-length fixed arraysize (astropy would read zero-byte BINARY rows forever), and
  fixed-size FIELDs whose rows would take more than ``max_bytes`` in astropy's arrays (TABLEDATA cells
  may be empty, yet each row gets the full declared size).
"""

from __future__ import annotations

import pyexpat
from typing import IO

from tapserver.errors import UsageFault
from tapserver.uploads.limits import MAX_COLUMNS

_BUFFER = 256 * 1024
#: Bytes per element in astropy's arrays (unknown datatypes are refused by astropy itself).
_ELEMENT_BYTES = {"boolean": 1, "bit": 1, "unsignedByte": 1, "short": 2, "int": 4, "long": 8, "char": 1,
                  "unicodeChar": 4, "float": 4, "double": 8, "floatComplex": 8, "doubleComplex": 16}
_POINTER_BYTES = 8


def cell_bytes(datatype: str | None, arraysize: str | None) -> int:
    """The bytes one cell of a FIELD takes in astropy's array: a pointer for variable-length arrays, else
    the element size times every dimension. ValueError for a zero or unreadable fixed dimension."""
    element = _ELEMENT_BYTES.get(datatype or "", 8)
    if arraysize is None or not arraysize.strip():
        return element
    if "*" in arraysize:
        return _POINTER_BYTES
    total = element
    for dimension in arraysize.split("x"):
        size = int(dimension.strip(), 10)
        if size <= 0:
            raise ValueError(f"arraysize {arraysize!r} has a dimension of {size}")
        total *= size
    return total


def _local(name: str) -> str:
    """An element or attribute name without its namespace prefix."""
    return name.rpartition(":")[2]


class _Screen:
    def __init__(self, upload: str, max_rows: int, max_bytes: int) -> None:
        self.upload = upload
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.rows = 0
        self.fields = 0
        self.row_bytes = 0
        self.declared: str | None = None

    def check_rows(self, rows: int) -> None:
        if rows > self.max_rows:
            raise self.refuse(f"has more than {self.max_rows} rows; at most {self.max_rows} are accepted")
        if rows * self.row_bytes > self.max_bytes:
            raise self.refuse(f"declares FIELDs of {self.row_bytes} bytes per row: {rows} rows would take more "
                              f"than the {self.max_bytes} bytes an upload may hold")

    def refuse(self, reason: str) -> UsageFault:
        return UsageFault(f"upload {self.upload!r} {reason}")

    def start(self, name: str, attributes: dict[str, str]) -> None:
        tag = _local(name).upper()
        if tag == "TD":
            return
        if tag == "TR":
            self.rows += 1
            self.check_rows(self.rows)
        elif tag == "FIELD":
            self.fields += 1
            if self.fields > MAX_COLUMNS:
                raise self.refuse(f"has more than {MAX_COLUMNS} FIELDs; at most {MAX_COLUMNS} columns are "
                                  "accepted")
            try:
                self.row_bytes += cell_bytes(attributes.get("datatype"), attributes.get("arraysize"))
            except ValueError as exc:
                raise self.refuse(f"has a FIELD {attributes.get('name', '')[:40]!r} that cannot be read: "
                                  f"{exc}") from None
        elif tag == "TABLE":
            self.rows = self.fields = self.row_bytes = 0
            self.declared = attributes.get("nrows")
        elif tag == "DATA" and self.declared is not None:
            try:
                declared = int(self.declared.strip(), 10)
            except ValueError:
                raise self.refuse(f"has a TABLE with nrows={self.declared[:20]!r}, not a number") from None
            self.check_rows(declared)
        elif tag == "STREAM":
            if any(_local(key).lower() == "href" for key in attributes):
                raise self.refuse("has a STREAM with an href: this service reads only inline (base64) "
                                  "streams, never a file or URL named in an upload")
        elif tag in ("FITS", "PARQUET"):
            raise self.refuse(f"uses the {tag} serialisation, which refers to an external stream: use "
                              "TABLEDATA, BINARY or BINARY2 with an inline stream")

    def doctype(self, name: str, system_id: str | None, public_id: str | None, internal_subset: int) -> None:
        if internal_subset:
            raise self.refuse("has a DOCTYPE with an internal subset (entity or attribute declarations), "
                              "which this service does not accept")

    def entity(self, name: str, *args: object) -> None:
        raise self.refuse(f"declares the XML entity {name!r}; only the five predefined entities are accepted")

    def external(self, *args: object) -> int:
        raise self.refuse("refers to an external XML entity, which this service does not read")


def screen_votable(name: str, source: IO[bytes], max_rows: int, max_bytes: int) -> None:
    """Run the screen over ``source`` (a seekable file, rewound afterwards). UsageFault for anything it
    refuses or for XML that is not well-formed."""
    screen = _Screen(name, max_rows, max_bytes)
    parser = pyexpat.ParserCreate()
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = screen.start
    parser.StartDoctypeDeclHandler = screen.doctype
    parser.EntityDeclHandler = screen.entity
    parser.UnparsedEntityDeclHandler = screen.entity
    parser.ExternalEntityRefHandler = screen.external
    try:
        while True:
            chunk = source.read(_BUFFER)
            parser.Parse(chunk, not chunk)
            if not chunk:
                break
    except pyexpat.ExpatError as exc:
        raise UsageFault(f"upload {name!r} is not a readable VOTable: {exc}") from None
    finally:
        source.seek(0)
