"""A streaming screen of an upload's XML before astropy parses it: refuses what would make the parser open a
file or URL, expand entities, or read more rows or columns than allowed.

astropy's VOTable parser follows ``<STREAM href=...>`` (``file:``, ``http:``, ``ftp:``, relative paths) and
expands internal entities; this pass runs expat (the parser astropy uses) over the same bytes first,
keeping nothing but counters, and stops at the first thing refused:

- a DOCTYPE with an internal subset, any ENTITY declaration, any external entity reference;
- a STREAM with an ``href`` (only inline base64 streams are read), FITS and PARQUET serialisations (which
  astropy reads only through an href);
- a TABLE with more than ``max_rows`` TABLEDATA rows or more than :data:`MAX_COLUMNS` FIELDs.
"""

from __future__ import annotations

import pyexpat
from typing import IO

from tapserver.errors import UsageFault
from tapserver.uploads.limits import MAX_COLUMNS

_BUFFER = 256 * 1024


def _local(name: str) -> str:
    """An element or attribute name without its namespace prefix."""
    return name.rpartition(":")[2]


class _Screen:
    def __init__(self, upload: str, max_rows: int) -> None:
        self.upload = upload
        self.max_rows = max_rows
        self.rows = 0
        self.fields = 0

    def refuse(self, reason: str) -> UsageFault:
        return UsageFault(f"upload {self.upload!r} {reason}")

    def start(self, name: str, attributes: dict[str, str]) -> None:
        tag = _local(name).upper()
        if tag == "TD":
            return
        if tag == "TR":
            self.rows += 1
            if self.rows > self.max_rows:
                raise self.refuse(f"has more than {self.max_rows} rows; at most {self.max_rows} are accepted")
        elif tag == "FIELD":
            self.fields += 1
            if self.fields > MAX_COLUMNS:
                raise self.refuse(f"has more than {MAX_COLUMNS} FIELDs; at most {MAX_COLUMNS} columns are "
                                  "accepted")
        elif tag == "TABLE":
            self.rows = self.fields = 0
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


def screen_votable(name: str, source: IO[bytes], max_rows: int) -> None:
    """Run the screen over ``source`` (a seekable file, rewound afterwards). UsageFault for anything it
    refuses or for XML that is not well-formed."""
    screen = _Screen(name, max_rows)
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
