"""VOSI handlers: availability (capabilities and tables join them in the TAP issue)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from tapserver.dependencies import get_state
from tapserver.state import ServerState
from tapserver.tap.availability import check_availability, render_availability

router = APIRouter()

XML = "text/xml; charset=utf-8"


@router.get("/tap/availability", response_class=Response, summary="VOSI availability")
async def availability(state: ServerState = Depends(get_state)) -> Response:
    result = await run_in_threadpool(check_availability, state.engines.query, state.started)
    return Response(render_availability(result), media_type=XML)
