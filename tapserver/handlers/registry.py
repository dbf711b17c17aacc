"""GET/POST /oai: the OAI-PMH publishing endpoint (see tapserver.registry.oai)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from tapserver.dali.params import Params
from tapserver.dependencies import dali_params, get_factory
from tapserver.factory import Factory
from tapserver.registry.oai import ServiceRecord, respond
from tapserver.vosi.capabilities import capabilities_document
from tapserver.vosi.tables import render_tableset

router = APIRouter()


@router.api_route("/oai", methods=["GET", "POST"], summary="OAI-PMH publishing registry (this service's record)",
                  response_class=Response)
async def oai(params: Params = Depends(dali_params), factory: Factory = Depends(get_factory)) -> Response:
    def render() -> bytes:
        record = ServiceRecord.from_settings(factory.settings, factory.started)
        return respond(params.items(), record, capabilities_document(factory.settings),
                       render_tableset(factory.catalogs.get()))

    return Response(await run_in_threadpool(render), media_type="text/xml; charset=utf-8")
