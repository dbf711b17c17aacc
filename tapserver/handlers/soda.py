"""HTTP handler of the SODA sync endpoint (``/soda/sync``, GET and POST) for event-list cutouts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from tapserver.auth.identity import caller_identity
from tapserver.dali.params import Params
from tapserver.datalink.rights import AccessPolicy, ChallengeFault
from tapserver.dependencies import dali_params, get_access_policy, get_factory
from tapserver.error_handlers import fault_response
from tapserver.errors import UsageFault
from tapserver.factory import Factory
from tapserver.gadf.bundle import coalesced
from tapserver.soda.model import SODA_SYNC_PATH
from tapserver.soda.params import parse_cut

router = APIRouter()


@router.api_route(SODA_SYNC_PATH, methods=["GET", "POST"], response_class=Response,
                  summary="SODA sync: cut an event list (POS, CIRCLE, POLYGON, TIME, BAND, ENERGY)")
async def soda_sync(params: Params = Depends(dali_params), factory: Factory = Depends(get_factory),
                    caller: str | None = Depends(caller_identity),
                    policy: AccessPolicy = Depends(get_access_policy)) -> Response:
    ids = [i for i in params.all("ID") if i.strip()]
    if len(ids) != 1:
        raise UsageFault(f"give exactly one ID (the dataset's publisher DID), got {len(ids)}")
    cut = parse_cut(params)
    service = factory.create_cutout_service(policy)
    try:
        cutout = await run_in_threadpool(service.open, ids[0], cut, caller)
    except ChallengeFault as fault:
        return fault_response(fault, headers={"WWW-Authenticate": fault.challenge})
    headers = {"Content-Disposition": f'attachment; filename="{cutout.filename}"', "Cache-Control": "private"}
    # one chunk per MiB, not per HDU piece: each chunk is one hop from a worker thread to the event loop,
    # which for a small file costs more than cutting it
    return StreamingResponse(coalesced(iter(cutout.body)), media_type=cutout.media_type, headers=headers)
