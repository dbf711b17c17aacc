"""Importing files: load PROV documents (PROV-JSON, and PROV-N / PROV-XML through the ``prov``
library) or ctapipe provenance logs into the ProvTAP tables.

Each file is one transaction: a document that cannot be imported whole is refused with a message naming the
element, and nothing of it is written. Importing a file again changes nothing (see :mod:`loader`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from prov.model import ProvDocument
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from tapserver.config import Settings
from tapserver.db import describe_connection_error
from tapserver.provenance.ctapipe import CtapipeLogError, graph_from_log, parse_log
from tapserver.provenance.loader import ImportRefused, LoadReport, load
from tapserver.provenance.mapping import Imported, ProvMappingError, graph_from_prov

_PROV_FORMAT = {"prov-json": "json", "prov-n": "provn", "prov-xml": "xml"}


class ImportFailed(Exception):
    """A file that cannot be imported (unreadable, not a supported document, refused)."""


@dataclass(frozen=True)
class ImportResult:
    path: Path
    kind: str
    report: LoadReport


def detect(path: Path, content: str) -> str:
    """The format of a file from its name and first characters."""
    head = content.lstrip()[:200]
    if path.name.endswith(".provenance.log") or head.startswith("["):
        return "ctapipe"
    if head.startswith("{"):
        return "prov-json"
    if head.startswith("<"):
        return "prov-xml"
    if head.startswith("document"):
        return "prov-n"
    raise ImportFailed(f"{path}: not a PROV-JSON, PROV-XML or PROV-N document nor a ctapipe provenance log")


def read_document(path: Path, fmt: str = "auto", *, checksum: bool = True) -> tuple[str, Imported]:
    """Parse ``path`` into rows (no database access)."""
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed(f"{path}: cannot read: {exc}") from None
    kind = detect(path, content) if fmt == "auto" else fmt
    try:
        if kind == "ctapipe":
            return kind, graph_from_log(parse_log(content), checksum=checksum)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            document = ProvDocument.deserialize(content=content, format=_PROV_FORMAT[kind])
        if caught:  # prov drops what it cannot read (a bad time, an unknown prefix) with a warning
            raise ProvMappingError(str(caught[0].message))
        return kind, graph_from_prov(document)
    except (CtapipeLogError, ProvMappingError) as exc:
        raise ImportFailed(f"{path}: refused: {exc}") from None
    except Exception as exc:  # the prov parsers raise many exception types for malformed documents
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportFailed(f"{path}: not a valid {kind.upper()} document: {first}") from None


def import_file(path: Path, settings: Settings, fmt: str = "auto", *, dry_run: bool = False) -> ImportResult:
    """Import one file in one transaction (rolled back for a dry run or a refusal)."""
    kind, imported = read_document(path, fmt)
    engine = create_engine(settings.admin_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            try:
                report = load(conn, imported)
            except ImportRefused as exc:
                transaction.rollback()
                raise ImportFailed(f"{path}: refused: {exc}") from None
            if dry_run:
                transaction.rollback()
            else:
                transaction.commit()
    except OperationalError as exc:
        raise ImportFailed(describe_connection_error(exc, "the archive database")) from None
    except DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ImportFailed(f"{path}: the database refused the rows: {first}") from None
    finally:
        engine.dispose()
    return ImportResult(path, kind, report)


__all__ = ["ImportFailed", "ImportResult", "detect", "import_file", "read_document"]
