"""TAP handlers: sync queries, VOSI capabilities and tables, DALI examples. Thin: parse, call, render."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator

from fastapi import APIRouter, Depends, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from tapserver.dali.params import Params
from tapserver.dali.reader import dali_params
from tapserver.dali.tapquery import parse_tap_query
from tapserver.dependencies import get_state
from tapserver.errors import NotFoundFault
from tapserver.state import ServerState
from tapserver.tap import capabilities as caps
from tapserver.tap.examples import render_examples
from tapserver.tap.query import QueryService
from tapserver.tap.vosi_tables import render_table, render_tableset
from tapserver.uploads import UploadedTable, parse_upload_param, read_uploads, upload_limits, upload_tables

router = APIRouter()

XML = "text/xml; charset=utf-8"


def query_service(state: ServerState = Depends(get_state)) -> QueryService:
    return QueryService(state.settings, state.engines.query, state.catalogs)


async def _iterate(chunks: Generator[bytes, None, None], first: bytes) -> AsyncIterator[bytes]:
    """Send the chunks, pulling each from the database in a worker thread while the previous one is being
    sent (the database and the encoding never wait for the client's socket); always close the cursor."""
    pending: asyncio.Future[bytes | None] | None = None
    try:
        yield first
        pending = asyncio.ensure_future(run_in_threadpool(next, chunks, None))
        while True:
            chunk = await pending
            pending = None
            if chunk is None:
                break
            pending = asyncio.ensure_future(run_in_threadpool(next, chunks, None))
            yield chunk
    finally:
        if pending is not None:  # a chunk is being made: let it finish before closing the generator
            await asyncio.gather(pending, return_exceptions=True)
        await run_in_threadpool(chunks.close)


@router.api_route("/tap/sync", methods=["GET", "POST"], summary="Synchronous ADQL query (TAP 1.1)",
                  response_class=Response)
async def sync(params: Params = Depends(dali_params),
               service: QueryService = Depends(query_service)) -> Response:
    request = parse_tap_query(params)
    uploads: list[UploadedTable] = []
    refs = parse_upload_param(request.uploads)
    if refs:
        limits = upload_limits(service.settings)
        uploads = await run_in_threadpool(read_uploads, refs, params.parts.get, limits)
    prepared = await run_in_threadpool(service.prepare, request, upload_tables(uploads))
    chunks = service.stream(prepared, timeout_s=service.settings.sync_timeout, sync=True, uploads=uploads)
    first = await run_in_threadpool(next, chunks, b"")  # runs the query: faults surface here, before any byte
    # The Content-Type is set as is: a client that asked for a MIME type gets exactly that type (DALI).
    return StreamingResponse(_iterate(chunks, first), headers={"Content-Type": prepared.output.content_type})


def _features() -> list[caps.LanguageFeature]:
    from tapserver.adql.features import FEATURES

    return [caps.LanguageFeature(f.type, f.form, f.description) for f in FEATURES]


def _formats() -> list[caps.FormatDeclaration]:
    from tapserver.formats import FORMATS

    return [caps.FormatDeclaration(f.mime, f.aliases, f.ivo_id) for f in FORMATS]


def _extra_capabilities() -> list[caps.ExtraCapability]:
    from tapserver.datalink import CAPABILITY as DATALINK
    from tapserver.provenance import CAPABILITY as PROVSAP
    from tapserver.soda import CAPABILITY as SODA

    return [DATALINK, PROVSAP, SODA]


@router.get("/tap/capabilities", summary="VOSI capabilities", response_class=Response)
async def capabilities(state: ServerState = Depends(get_state)) -> Response:
    document = caps.render_capabilities(state.settings, _features(), _formats(), uploads=True,
                                        extra=_extra_capabilities())
    return Response(document, media_type=XML)


@router.get("/tap/tables", summary="VOSI tables", response_class=Response)
async def tables(params: Params = Depends(dali_params), state: ServerState = Depends(get_state)) -> Response:
    details = params.all("DETAIL")  # the last one counts
    detail = (details[-1] if details else "max").lower() != "min"
    catalog = await run_in_threadpool(state.catalogs.get)
    nrows = await run_in_threadpool(state.catalogs.row_counts)
    return Response(render_tableset(catalog, detail=detail, nrows=nrows), media_type=XML)


@router.get("/tap/tables/{table_name}", summary="VOSI table", response_class=Response)
async def table(table_name: str, state: ServerState = Depends(get_state)) -> Response:
    catalog = await run_in_threadpool(state.catalogs.get)
    found = catalog.table(table_name)
    if found is None:
        raise NotFoundFault(f"no table {table_name!r} in this service")
    nrows = await run_in_threadpool(state.catalogs.row_counts)
    return Response(render_table(found, nrows.get(found.qualified)), media_type=XML)


@router.get("/tap/examples", summary="DALI examples", response_class=Response)
async def examples(state: ServerState = Depends(get_state)) -> Response:
    return Response(render_examples(state.settings), media_type="application/xhtml+xml")
