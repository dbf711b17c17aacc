"""TAP handlers: sync queries, VOSI capabilities and tables, DALI examples. Thin: parse, call, render."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator
from typing import IO

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from tapserver.dependencies import get_factory
from tapserver.errors import NotFoundFault
from tapserver.factory import Factory
from tapserver.tap import capabilities as caps
from tapserver.tap.examples import render_examples
from tapserver.tap.params import Params, parse_tap_query
from tapserver.tap.query import QueryService
from tapserver.tap.vosi_tables import render_table, render_tableset
from tapserver.uploads import UploadedTable, parse_upload_param, read_uploads, upload_limits, upload_tables

router = APIRouter()

XML = "text/xml; charset=utf-8"


async def request_params(request: Request) -> Params:
    """All parameters of a GET or POST request (query string, url-encoded or multipart form fields);
    multipart file parts (inline uploads) are kept in ``request.state.parts`` (name -> file)."""
    items: list[tuple[str, str]] = list(request.query_params.multi_items())
    parts: dict[str, IO[bytes]] = {}
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            for k, v in form.multi_items():
                if isinstance(v, UploadFile):
                    parts[k] = v.file
                else:
                    items.append((k, v))
    request.state.parts = parts
    return Params(items)


def query_service(factory: Factory = Depends(get_factory)) -> QueryService:
    return factory.create_query_service()


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
async def sync(http_request: Request, params: Params = Depends(request_params),
               service: QueryService = Depends(query_service)) -> Response:
    request = parse_tap_query(params)
    uploads: list[UploadedTable] = []
    refs = parse_upload_param(request.uploads)
    if refs:
        parts: dict[str, IO[bytes]] = http_request.state.parts
        limits = upload_limits(service.settings)
        uploads = await run_in_threadpool(read_uploads, refs, parts.get, limits)
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
async def capabilities(factory: Factory = Depends(get_factory)) -> Response:
    document = caps.render_capabilities(factory.settings, _features(), _formats(), uploads=True,
                                        extra=_extra_capabilities())
    return Response(document, media_type=XML)


@router.get("/tap/tables", summary="VOSI tables", response_class=Response)
async def tables(request: Request, factory: Factory = Depends(get_factory)) -> Response:
    detail = request.query_params.get("DETAIL", "max").lower() != "min"
    catalog = await run_in_threadpool(factory.catalogs.get)
    nrows = await run_in_threadpool(factory.catalogs.row_counts)
    return Response(render_tableset(catalog, detail=detail, nrows=nrows), media_type=XML)


@router.get("/tap/tables/{table_name}", summary="VOSI table", response_class=Response)
async def table(table_name: str, factory: Factory = Depends(get_factory)) -> Response:
    catalog = await run_in_threadpool(factory.catalogs.get)
    found = catalog.table(table_name)
    if found is None:
        raise NotFoundFault(f"no table {table_name!r} in this service")
    nrows = await run_in_threadpool(factory.catalogs.row_counts)
    return Response(render_table(found, nrows.get(found.qualified)), media_type=XML)


@router.get("/tap/examples", summary="DALI examples", response_class=Response)
async def examples(factory: Factory = Depends(get_factory)) -> Response:
    return Response(render_examples(factory.settings), media_type="application/xhtml+xml")
