"""TAP handlers: sync queries, VOSI capabilities and tables, DALI examples. Thin: parse, call, render."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from tapserver.dali.params import Params
from tapserver.dali.tapquery import parse_tap_query
from tapserver.dependencies import dali_params, get_factory
from tapserver.errors import NotFoundFault
from tapserver.factory import Factory
from tapserver.tap.examples import render_examples
from tapserver.tap.query import QueryService
from tapserver.tap.run import QueryRun
from tapserver.vosi.capabilities import capabilities_document
from tapserver.vosi.tables import render_table, render_tableset

router = APIRouter()

XML = "text/xml; charset=utf-8"


def query_service(factory: Factory = Depends(get_factory)) -> QueryService:
    return factory.create_query_service()


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
async def sync(params: Params = Depends(dali_params),
               service: QueryService = Depends(query_service)) -> Response:
    run = QueryRun(service, parse_tap_query(params), open_part=params.parts.get,
                   timeout_s=service.settings.sync_timeout, sync=True)
    first = await run_in_threadpool(run.start)  # runs the query: faults surface here, before any byte
    # The Content-Type is set as is: a client that asked for a MIME type gets exactly that type (DALI).
    return StreamingResponse(_iterate(run, first), headers={"Content-Type": run.output.content_type})


@router.get("/tap/capabilities", summary="VOSI capabilities", response_class=Response)
async def capabilities(factory: Factory = Depends(get_factory)) -> Response:
    return Response(capabilities_document(factory.settings), media_type=XML)


@router.get("/tap/tables", summary="VOSI tables", response_class=Response)
async def tables(params: Params = Depends(dali_params), factory: Factory = Depends(get_factory)) -> Response:
    details = params.all("DETAIL")  # the last one counts
    detail = (details[-1] if details else "max").lower() != "min"
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
