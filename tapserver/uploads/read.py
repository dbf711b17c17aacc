"""Reading the tables an UPLOAD parameter names: fetch or open each, decode within the byte budget, screen
the XML, parse it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import IO

from tapserver.errors import UsageFault
from tapserver.uploads.decode import spool_decoded
from tapserver.uploads.fetch import fetch_url
from tapserver.uploads.limits import Budget, UploadLimits
from tapserver.uploads.params import UploadRef
from tapserver.uploads.screen import screen_votable
from tapserver.uploads.votable import UploadedTable, read_votable


def read_uploads(refs: Sequence[UploadRef], open_part: Callable[[str], IO[bytes] | None],
                 limits: UploadLimits, *, fetch: Callable[[str, float], IO[bytes]] | None = None,
                 ) -> list[UploadedTable]:
    """Read every referenced VOTable: inline parts through ``open_part(part_name)`` (None: no such
    part), URLs through ``fetch`` (default: :func:`fetch_url` with ``limits.url_policy``). A part named by
    several uploads is read once. UsageFault for anything missing, unreadable, refused or over the limits."""
    budget = Budget(limits.max_bytes)
    tables: list[UploadedTable] = []
    parts: dict[str, UploadedTable] = {}
    for ref in refs:
        part = ref.part
        if part is not None and part in parts:
            tables.append(parts[part].renamed(ref.name))
            continue
        if part is not None:
            source = open_part(part)
            if source is None:
                raise UsageFault(f"upload {ref.name!r} refers to param:{part}, but the request has no "
                                 f"multipart part named {part!r}")
        else:
            source = (fetch(ref.uri, limits.url_timeout_s) if fetch is not None
                      else fetch_url(ref.uri, limits.url_timeout_s, limits.url_policy))
        try:
            with spool_decoded(source, ref.name, budget) as decoded:
                screen_votable(ref.name, decoded, limits.max_rows, limits.max_bytes)
                table = read_votable(ref.name, decoded, limits.max_rows)
        finally:
            source.close()
        tables.append(table)
        if part is not None:
            parts[part] = table
    return tables
