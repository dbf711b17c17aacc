"""TAP handlers: sync queries, VOSI capabilities and tables, DALI examples. Thin: parse, call, render."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import IO

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from tapserver.dependencies import get_state
from tapserver.errors import NotFoundFault
from tapserver.state import ServerState
from tapserver.tap.examples import render_examples
from tapserver.tap.params import Params, parse_tap_query
from tapserver.tap.query import QueryService
from tapserver.tap.run import QueryRun
from tapserver.vosi.capabilities import capabilities_document
from tapserver.vosi.tables import render_table, render_tableset

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


def query_service(state: ServerState = Depends(get_state)) -> QueryService:
    return QueryService(state.settings, state.engines.query, state.catalogs)


async def _iterate(run: QueryRun, first: bytes) -> AsyncIterator[bytes]:
    """Send the chunks, pulling each from the database in a worker thread while the previous one is being
    sent (the database and the encoding never wait for the client's socket); always close the run."""
    pending: asyncio.Future[bytes | None] | None = None
    try:
        yield first
        pending = asyncio.ensure_future(run_in_threadpool(next, run, None))
        while True:
            chunk = await pending
            pending = None
            if chunk is None:
                break
            pending = asyncio.ensure_future(run_in_threadpool(next, run, None))
            yield chunk
    finally:
        if pending is not None:  # a chunk is being made: let it finish before closing the generator
            await asyncio.gather(pending, return_exceptions=True)
        await run_in_threadpool(run.close)


@router.api_route("/tap/sync", methods=["GET", "POST"], summary="Synchronous ADQL query (TAP 1.1)",
                  response_class=Response)
async def sync(http_request: Request, params: Params = Depends(request_params),
               service: QueryService = Depends(query_service)) -> Response:
    parts: dict[str, IO[bytes]] = http_request.state.parts
    run = QueryRun(service, parse_tap_query(params), open_part=parts.get, timeout_s=service.settings.sync_timeout,
                   sync=True)
    first = await run_in_threadpool(run.start)  # runs the query: faults surface here, before any byte
    # The Content-Type is set as is: a client that asked for a MIME type gets exactly that type (DALI).
    return StreamingResponse(_iterate(run, first), headers={"Content-Type": run.output.content_type})


@router.get("/tap/capabilities", summary="VOSI capabilities", response_class=Response)
async def capabilities(state: ServerState = Depends(get_state)) -> Response:
    return Response(capabilities_document(state.settings), media_type=XML)


@router.get("/tap/tables", summary="VOSI tables", response_class=Response)
async def tables(request: Request, state: ServerState = Depends(get_state)) -> Response:
    detail = request.query_params.get("DETAIL", "max").lower() != "min"
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
