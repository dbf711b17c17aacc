"""The query service shared by sync requests and async jobs: the checks and translation of a TAP query and
what its result document says besides the rows. It never sees HTTP; :class:`tapserver.tap.run.QueryRun`
runs the query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from tapserver import __version__
from tapserver.adql import Translation, translate
from tapserver.catalog.cache import CatalogCache
from tapserver.catalog.model import Table
from tapserver.config import Settings
from tapserver.dali.tapquery import TapQuery
from tapserver.datalink.descriptors import service_descriptor
from tapserver.datalink.obscore import obscore_rewrites
from tapserver.formats import OutputFormat, find_format


@dataclass(frozen=True)
class PreparedQuery:
    """A translated query with its output format and effective MAXREC."""

    request: TapQuery
    translation: Translation
    output: OutputFormat
    maxrec: int


class QueryService:
    """Translate TAP queries for the query engine (the read-only role) that their runs use."""

    def __init__(self, settings: Settings, engine: Engine, catalogs: CatalogCache) -> None:
        self.settings = settings
        self.engine = engine
        self.catalogs = catalogs

    def effective_maxrec(self, requested: int | None) -> int:
        """MAXREC as applied: the default when none is given, never above the hard limit."""
        if requested is None:
            return self.settings.default_maxrec
        return min(requested, self.settings.hard_maxrec)

    def prepare(self, request: TapQuery, uploads: Mapping[str, Table] | None = None) -> PreparedQuery:
        """Check the format and translate the ADQL (UsageFault on any problem); ``uploads`` are the
        TAP_UPLOAD tables (tapserver.uploads.upload_tables)."""
        output = find_format(request.response_format or "votable")
        maxrec = self.effective_maxrec(request.maxrec)
        translation = translate(request.query, self.catalogs.get(), maxrec=maxrec, uploads=uploads,
                                rewrites=obscore_rewrites(self.settings.base_url))
        return PreparedQuery(request=request, translation=translation, output=output, maxrec=maxrec)

    def info(self, prepared: PreparedQuery) -> dict[str, str]:
        """INFO elements written before the table (the query echo helps users and federating archives)."""
        return {
            "standardID": "ivo://ivoa.net/std/TAP",
            "QUERY": prepared.request.query,
            "request_date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "server_software": f"tapserver {__version__}",
            **({"RUNID": prepared.request.runid} if prepared.request.runid else {}),
        }

    def extra_resources(self, prepared: PreparedQuery) -> tuple[bytes, ...]:
        """Resources after the results: the DataLink service descriptor when publisher DIDs are selected."""
        if not prepared.output.is_votable:
            return ()
        descriptor = service_descriptor(prepared.translation.columns, self.settings.base_url)
        return (descriptor,) if descriptor else ()
