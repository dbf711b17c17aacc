"""Handlers of the pages for people."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse

from tapserver.dependencies import get_state
from tapserver.state import ServerState
from tapserver.web.landing import render_landing

router = APIRouter()


@router.get("/", response_class=HTMLResponse, summary="Landing page")
async def landing(state: ServerState = Depends(get_state)) -> HTMLResponse:
    return HTMLResponse(render_landing(state.settings))


@router.get("/tap", summary="TAP service root: the landing page")
async def tap_root() -> RedirectResponse:
    return RedirectResponse("/", status_code=303)
