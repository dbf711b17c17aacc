"""GET/POST /oai: the OAI-PMH publishing endpoint (see tapserver.registry.oai)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from tapserver.dali.params import Params
from tapserver.dali.reader import dali_params
from tapserver.dependencies import get_state
from tapserver.registry.oai import ServiceRecord, respond
from tapserver.state import ServerState
from tapserver.vosi.capabilities import capabilities_document
from tapserver.vosi.tables import render_tableset

router = APIRouter()


@router.api_route("/oai", methods=["GET", "POST"], summary="OAI-PMH publishing registry (this service's record)",
                  response_class=Response)
async def oai(params: Params = Depends(dali_params), state: ServerState = Depends(get_state)) -> Response:
    def render() -> bytes:
        record = ServiceRecord.from_settings(state.settings, state.started)
        return respond(params.items(), record, capabilities_document(state.settings),
                       render_tableset(state.catalogs.get()))

    return Response(await run_in_threadpool(render), media_type="text/xml; charset=utf-8")
