"""VOSI handlers: availability (capabilities and tables join them in the TAP issue)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from tapserver.dependencies import get_factory
from tapserver.factory import Factory
from tapserver.tap.availability import check_availability, render_availability

router = APIRouter()

XML = "text/xml; charset=utf-8"


@router.get("/tap/availability", response_class=Response, summary="VOSI availability")
async def availability(factory: Factory = Depends(get_factory)) -> Response:
    result = await run_in_threadpool(check_availability, factory.engines.query, factory.started)
    return Response(render_availability(result), media_type=XML)
