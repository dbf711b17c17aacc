"""ProvSAP handler: ``GET/POST /provsap``. Thin: parameters in, the service's document out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from tapserver.dali.params import Params
from tapserver.dependencies import dali_params, get_factory
from tapserver.factory import Factory
from tapserver.provenance.service import ProvSAPService

router = APIRouter()


def provsap_service(factory: Factory = Depends(get_factory)) -> ProvSAPService:
    return factory.create_provsap_service()


@router.api_route("/provsap", methods=["GET", "POST"], response_class=Response,
                  summary="ProvSAP: the provenance graph of datasets, activities or agents")
async def provsap(params: Params = Depends(dali_params),
                  service: ProvSAPService = Depends(provsap_service)) -> Response:
    """IDs (repeatable), DEPTH (n or ALL), DIRECTION (BACK/FORTH), AGENT, MEMBERS, MODEL (IVOA/W3C) and
    RESPONSEFORMAT (PROV-JSON, PROV-N, PROV-XML, PROV-VOTABLE, PROV-SVG)."""
    answer = await run_in_threadpool(service.handle, params)
    return Response(answer.body, media_type=answer.media_type)
