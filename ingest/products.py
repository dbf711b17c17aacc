"""The DataLink products of one observation: the event file (``#this``), then each HDU linked to it (GTI,
pointing, response functions), each with its kind as ``local_semantics`` and the DataLink vocabulary terms of
:mod:`tapserver.datalink.vocabulary`.

A gzip-compressed event file is served decompressed (``application/fits``): its ``content_length`` is the
decompressed size, what a download of the link returns (read from the gzip trailer: inflating every event
file again doubled the ingest time of H.E.S.S. DR1).
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.errors import IngestError
from ingest.records import Product, SourceFile
from tapserver.datalink.inflate import decompressed_length, is_gzip, trailer_length
from tapserver.datalink.model import FITS_MIME
from tapserver.datalink.vocabulary import KIND_ORDER, KINDS

if TYPE_CHECKING:
    from ingest.mapping import Inputs


def products(inputs: Inputs, did: str, facility: str, obs_id: str) -> tuple[Product, ...]:
    """The products of one observation, in link order (events first, then by kind, file and HDU)."""
    events = inputs.events_file
    kind = KINDS["events"]
    found = [Product(product_id=f"{did}#events", semantics=kind.semantics,
                     description=f"{kind.description} of {facility} observation {obs_id}",
                     content_type=FITS_MIME, content_length=served_size(events), file_path=events.path,
                     checksum=events.checksum, sort_order=0, content_qualifier=kind.content_qualifier,
                     local_semantics=kind.name)]
    used: dict[str, int] = {}
    ordered = sorted(inputs.linked, key=lambda item: (_order(item.hdu_type), item.file.path,
                                                      item.hdu.index if item.hdu.index is not None else 1 << 30))
    for number, item in enumerate(ordered, start=1):
        used[item.hdu_type] = used.get(item.hdu_type, 0) + 1
        suffix = "" if used[item.hdu_type] == 1 else f"-{used[item.hdu_type]}"
        known = KINDS.get(item.hdu_type)
        description = known.description if known else item.hdu_type
        detail = item.hdu_class or item.hdu.hduclass(4).lower() or ""
        found.append(Product(
            product_id=f"{did}#{item.hdu_type}{suffix}", semantics=known.semantics if known else "#auxiliary",
            description=description + (f" ({detail})" if detail else ""), content_type=FITS_MIME,
            content_length=item.hdu.size, file_path=item.file.path, checksum=item.file.checksum,
            sort_order=number, hdu_name=item.hdu.name or None, hdu_index=item.hdu.index,
            content_qualifier=known.content_qualifier if known else None, local_semantics=item.hdu_type))
    return tuple(found)


def served_size(source: SourceFile) -> int:
    """Bytes a download of the whole file returns: its size, or the decompressed size of a gzip file, from
    its trailer (which the header reader checks against the HDU sizes of the hdu-index when it has one; a
    multi-member gzip file would need a full inflation, which the file server does), else by inflating it."""
    path = Path(source.path)
    try:
        with path.open("rb") as handle:
            if not is_gzip(handle.read(2)):
                return source.size_bytes
            recorded = trailer_length(handle, source.size_bytes)
            return recorded if recorded is not None else decompressed_length(handle)
    except (OSError, EOFError, zlib.error) as exc:
        raise IngestError(source.path, f"cannot read the gzip stream: {exc}") from None


def _order(kind: str) -> int:
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
