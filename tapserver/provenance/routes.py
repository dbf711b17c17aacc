"""ProvSAP handler: ``GET/POST /provsap``. Thin: parameters in, the service's document out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from tapserver.dali.params import Params
from tapserver.dali.reader import dali_params
from tapserver.dependencies import get_state
from tapserver.provenance.service import Limits, ProvSAPService
from tapserver.state import ServerState

router = APIRouter()


def provsap_service(state: ServerState = Depends(get_state)) -> ProvSAPService:
    return ProvSAPService(state.engines.query, Limits.from_settings(state.settings))


@router.api_route("/provsap", methods=["GET", "POST"], response_class=Response,
                  summary="ProvSAP: the provenance graph of datasets, activities or agents")
async def provsap(params: Params = Depends(dali_params),
                  service: ProvSAPService = Depends(provsap_service)) -> Response:
    """IDs (repeatable), DEPTH (n or ALL), DIRECTION (BACK/FORTH), AGENT, MEMBERS, MODEL (IVOA/W3C) and
    RESPONSEFORMAT (PROV-JSON, PROV-N, PROV-XML, PROV-VOTABLE, PROV-SVG)."""
    answer = await run_in_threadpool(service.handle, params)
    return Response(answer.body, media_type=answer.media_type)
