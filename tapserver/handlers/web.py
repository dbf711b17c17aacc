"""Handlers of the pages for people, their JSON helpers, the coverage MOC and the static files.

Thin: gather data in a worker thread (storage and services), render, answer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from tapserver.auth.identity import caller_identity
from tapserver.datalink.rights import AccessPolicy
from tapserver.dependencies import get_access_policy, get_factory
from tapserver.errors import UsageFault
from tapserver.factory import Factory
from tapserver.web import coverage as cov
from tapserver.web import storage
from tapserver.web.assets import assets
from tapserver.web.context import lifespan
from tapserver.web.dataset import render_dataset, render_not_found
from tapserver.web.landing import LandingData, render_landing
from tapserver.web.query_page import render_query_page
from tapserver.web.tables import render_tables

log = logging.getLogger(__name__)

router = APIRouter(lifespan=lifespan)

# Pages load only their own files; the SAMP Web Profile hub listens on localhost:21012.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "object-src 'self'; connect-src 'self' http://localhost:* http://127.0.0.1:*; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'self'")
_PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}


def html(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code, headers=_PAGE_HEADERS)


def _landing_data(factory: Factory) -> LandingData:
    web = factory.web
    operations = storage.load_operations(factory.engines.query, factory.engines.admin)
    try:
        archive = web.archive.get()
        coverage = web.coverage.get()
        svg = web.sky_svg(coverage, archive.targets)
    except SQLAlchemyError as exc:
        log.warning("landing page: the archive statistics failed: %s", exc)
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return LandingData(None, None, None, operations, factory.started,
                           problem=lines[0] if lines else type(exc).__name__)
    return LandingData(archive, coverage, svg, operations, factory.started)


@router.get("/", response_class=HTMLResponse, summary="Landing page: holdings, coverage, service status")
async def landing(factory: Factory = Depends(get_factory)) -> HTMLResponse:
    data = await run_in_threadpool(_landing_data, factory)
    return html(render_landing(factory.settings, data))


@router.get("/tap", summary="TAP service root: the landing page")
async def tap_root() -> RedirectResponse:
    return RedirectResponse("/", status_code=303)


@router.get("/tables", response_class=HTMLResponse, summary="Table browser (schemas, tables, columns)")
async def tables_page(factory: Factory = Depends(get_factory)) -> HTMLResponse:
    catalog = await run_in_threadpool(factory.catalogs.get)
    nrows = await run_in_threadpool(factory.catalogs.row_counts)
    return html(render_tables(factory.settings, catalog, nrows))


@router.get("/query", response_class=HTMLResponse, summary="ADQL query page (QUERY pre-fills the editor)")
async def query_page(request: Request, factory: Factory = Depends(get_factory)) -> HTMLResponse:
    catalog = await run_in_threadpool(factory.catalogs.get)
    return html(render_query_page(factory.settings, catalog, request.query_params.get("QUERY")))


@router.get("/dataset", response_class=HTMLResponse, summary="One dataset: ObsCore row, products, provenance")
async def dataset_page(request: Request, factory: Factory = Depends(get_factory),
                       caller: str | None = Depends(caller_identity),
                       policy: AccessPolicy = Depends(get_access_policy)) -> HTMLResponse:
    did = (request.query_params.get("ID") or "").strip()
    catalog = await run_in_threadpool(factory.catalogs.get)
    obscore = catalog.table("ivoa.obscore")
    row = await run_in_threadpool(storage.dataset_row, factory.engines.query, obscore, did) if did and obscore else None
    if row is None or obscore is None:
        return html(render_not_found(factory.settings, did or None), status_code=404)
    service = factory.create_links_service(policy)
    links = await run_in_threadpool(service.links, [did], caller)
    return html(render_dataset(factory.settings, obscore, row, links.rows))


def _stats_json(factory: Factory) -> dict[str, Any]:
    web = factory.web
    archive = web.archive.get()
    coverage = web.coverage.get()
    operations = storage.load_operations(factory.engines.query, factory.engines.admin)
    return {
        "title": factory.settings.title,
        "tap_url": factory.settings.tap_url,
        "datasets": archive.datasets,
        "collections": [asdict(c) for c in archive.collections],
        "coverage": {"footprints": coverage.footprints, "sky_fraction": coverage.sky_fraction,
                     "moc_order": coverage.order, "url": f"{factory.settings.tap_url}/coverage"},
        "status": {
            "available": operations.database_ok,
            "note": operations.database_note,
            "database_ms": operations.database_ms,
            "published_tables": operations.published_tables,
            "jobs_by_phase": operations.jobs_by_phase,
            "oldest_queued": operations.oldest_queued.isoformat() if operations.oldest_queued else None,
            "ingested_files": operations.source_files,
            "last_ingest": operations.last_ingest.isoformat() if operations.last_ingest else None,
            "up_since": factory.started.isoformat(),
        },
    }


@router.get("/api/stats", summary="Archive statistics and service status (JSON)")
async def api_stats(factory: Factory = Depends(get_factory)) -> Response:
    body = await run_in_threadpool(_stats_json, factory)
    return Response(json.dumps(body, default=str), media_type="application/json",
                    headers={"Cache-Control": "no-cache"})


@router.api_route("/tap/coverage", methods=["GET", "HEAD"], response_class=Response,
                  summary="Sky coverage of the archive as a MOC (RESPONSEFORMAT fits | json | ascii, MOCORDER)")
async def coverage(request: Request, factory: Factory = Depends(get_factory)) -> Response:
    fmt = cov.response_format(request.query_params.get("RESPONSEFORMAT"), request.headers.get("accept"))
    order_text = request.query_params.get("MOCORDER")
    order: int | None = None
    if order_text:
        try:
            order = int(order_text)
        except ValueError:
            raise UsageFault(f"MOCORDER must be an integer from 0 to {cov.MOC_ORDER}, not {order_text!r}") from None
        if not 0 <= order <= cov.MOC_ORDER:
            raise UsageFault(f"MOCORDER must be an integer from 0 to {cov.MOC_ORDER}, not {order}")
    built = await run_in_threadpool(factory.web.coverage.get)
    etag = f'"{built.etag}-{fmt}-{order if order is not None else cov.MOC_ORDER}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=60", "Vary": "Accept"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    body = await run_in_threadpool(built.serialize, fmt, order)
    media_type = {"fits": cov.FITS_MIME, "json": cov.JSON_MIME, "ascii": cov.ASCII_MIME}[fmt]
    extension = {"fits": "fits", "json": "json", "ascii": "txt"}[fmt]
    headers["Content-Disposition"] = f'inline; filename="coverage.{extension}"'
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(status_code=200, headers=headers, media_type=media_type)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/static/{name}", summary="Files of the pages (CSS, JavaScript, icons)", include_in_schema=False)
async def static_file(name: str, request: Request) -> Response:
    asset = assets().get(name)
    if asset is None:
        return Response("not found\n", status_code=404, media_type="text/plain")
    etag = f'"{asset.digest}"'
    versioned = request.query_params.get("V") == asset.digest
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=31536000, immutable" if versioned else "no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
