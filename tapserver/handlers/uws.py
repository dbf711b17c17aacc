"""HTTP handlers of the UWS 1.1 job list under /tap/async (TAP async): parse, call the service, render."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import IO

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from tapserver.auth.identity import caller_identity as caller
from tapserver.dali.params import Params
from tapserver.datalink.ranges import Unsatisfiable, parse_range
from tapserver.dependencies import dali_params, get_factory
from tapserver.error_handlers import fault_response
from tapserver.errors import UsageFault
from tapserver.factory import Factory
from tapserver.uws import render
from tapserver.uws.model import Phase, UwsUrls, format_instant
from tapserver.uws.service import JobService, parse_job_filter, parse_wait

router = APIRouter(prefix="/tap/async", tags=["TAP async (UWS 1.1)"])

XML = "text/xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
VOTABLE = "application/x-votable+xml"
_CHUNK = 1024 * 1024


def job_service(factory: Factory = Depends(get_factory)) -> JobService:
    return factory.create_job_service()


def uws_urls(factory: Factory = Depends(get_factory)) -> UwsUrls:
    return UwsUrls(f"{factory.settings.tap_url}/async")


def see_other(location: str) -> Response:
    return Response(status_code=303, headers={"Location": location})


def text_response(value: str) -> Response:
    return Response(value, media_type=TEXT)


def _chunks(stream: IO[bytes], remaining: int | None = None) -> Iterator[bytes]:
    """The stream's bytes (``remaining`` of them at most) in chunks; closes it."""
    try:
        while (remaining is None or remaining > 0) and (
                chunk := stream.read(_CHUNK if remaining is None else min(_CHUNK, remaining))):
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
    finally:
        stream.close()


# -- the job list -------------------------------------------------------------------------------------

@router.get("", summary="List the caller's jobs (filters PHASE, AFTER, LAST)", response_class=Response)
def list_jobs(params: Params = Depends(dali_params), service: JobService = Depends(job_service),
              urls: UwsUrls = Depends(uws_urls), owner: str | None = Depends(caller)) -> Response:
    job_filter = parse_job_filter(params.all("PHASE"), params.all("AFTER"), params.all("LAST"))
    jobs = iter(service.list_jobs(owner, job_filter))
    first = next(jobs, None)  # runs the query now: an unavailable database is a 503, not a cut-off 200
    listed = itertools.chain([first], jobs) if first is not None else iter(())
    return StreamingResponse(render.render_job_list(listed, urls), media_type=XML)


@router.post("", summary="Create a job (PHASE=RUN starts it)", response_class=Response)
async def create_job(params: Params = Depends(dali_params), service: JobService = Depends(job_service),
                     urls: UwsUrls = Depends(uws_urls), owner: str | None = Depends(caller)) -> Response:
    job_id = await run_in_threadpool(service.create, params.items(), params.parts, owner)
    return see_other(urls.job(job_id))


# -- one job ------------------------------------------------------------------------------------------

@router.get("/{job_id}", summary="The job (WAIT=n blocks until its phase changes)", response_class=Response)
async def get_job(job_id: str, params: Params = Depends(dali_params), service: JobService = Depends(job_service),
                  urls: UwsUrls = Depends(uws_urls), owner: str | None = Depends(caller)) -> Response:
    if len(params.all("WAIT")) > 1 or len(params.all("PHASE")) > 1:
        raise UsageFault("WAIT and PHASE may be given at most once")
    wait_s = parse_wait(params.single("WAIT"))
    if wait_s is not None:
        phase_value = params.single("PHASE")
        try:
            phase = Phase.parse(phase_value) if phase_value else None
        except ValueError as exc:
            raise UsageFault(f"PHASE: {exc}") from None
        job = await service.wait(job_id, owner, wait_s, phase)
    else:
        job = await run_in_threadpool(service.get, job_id, owner)
    return Response(render.render_job(job, urls), media_type=XML)


@router.post("/{job_id}", summary="ACTION=DELETE destroys the job", response_class=Response)
async def post_job(job_id: str, params: Params = Depends(dali_params), service: JobService = Depends(job_service),
                   urls: UwsUrls = Depends(uws_urls), owner: str | None = Depends(caller)) -> Response:
    action = params.single("ACTION")
    if action is None or action.strip().upper() != "DELETE":
        raise UsageFault("a POST to a job accepts only ACTION=DELETE (parameters go to /parameters, "
                         "phase changes to /phase)")
    await run_in_threadpool(service.delete, job_id, owner)
    return see_other(urls.jobs)


@router.delete("/{job_id}", summary="Destroy the job", response_class=Response)
def delete_job(job_id: str, service: JobService = Depends(job_service), urls: UwsUrls = Depends(uws_urls),
               owner: str | None = Depends(caller)) -> Response:
    service.delete(job_id, owner)
    return see_other(urls.jobs)


@router.get("/{job_id}/phase", summary="The phase (text/plain)", response_class=Response)
def get_phase(job_id: str, service: JobService = Depends(job_service), owner: str | None = Depends(caller)) -> Response:
    return text_response(service.get(job_id, owner).phase.value)


@router.post("/{job_id}/phase", summary="PHASE=RUN, ABORT or SUSPEND", response_class=Response)
async def post_phase(job_id: str, params: Params = Depends(dali_params), service: JobService = Depends(job_service),
                     urls: UwsUrls = Depends(uws_urls), owner: str | None = Depends(caller)) -> Response:
    await run_in_threadpool(service.change_phase, job_id, owner, params.single("PHASE"))
    return see_other(urls.job(job_id))


@router.get("/{job_id}/executionduration", summary="Execution duration in seconds", response_class=Response)
def get_execution_duration(job_id: str, service: JobService = Depends(job_service),
                           owner: str | None = Depends(caller)) -> Response:
    return text_response(str(service.get(job_id, owner).execution_duration))


@router.post("/{job_id}/executionduration", summary="EXECUTIONDURATION=seconds (while PENDING)",
             response_class=Response)
async def post_execution_duration(job_id: str, params: Params = Depends(dali_params),
                                  service: JobService = Depends(job_service), urls: UwsUrls = Depends(uws_urls),
                                  owner: str | None = Depends(caller)) -> Response:
    await run_in_threadpool(service.set_execution_duration, job_id, owner, params.single("EXECUTIONDURATION"))
    return see_other(urls.job(job_id))


@router.get("/{job_id}/destruction", summary="Destruction time (ISO 8601)", response_class=Response)
def get_destruction(job_id: str, service: JobService = Depends(job_service),
                    owner: str | None = Depends(caller)) -> Response:
    return text_response(format_instant(service.get(job_id, owner).destruction_time))


@router.post("/{job_id}/destruction", summary="DESTRUCTION=instant", response_class=Response)
async def post_destruction(job_id: str, params: Params = Depends(dali_params),
                           service: JobService = Depends(job_service), urls: UwsUrls = Depends(uws_urls),
                           owner: str | None = Depends(caller)) -> Response:
    await run_in_threadpool(service.set_destruction, job_id, owner, params.single("DESTRUCTION"))
    return see_other(urls.job(job_id))


@router.get("/{job_id}/quote", summary="Expected completion time (ISO 8601, empty if unknown)",
            response_class=Response)
def get_quote(job_id: str, service: JobService = Depends(job_service), owner: str | None = Depends(caller)) -> Response:
    return text_response(format_instant(service.get(job_id, owner).quote))


@router.get("/{job_id}/owner", summary="Owner (empty if anonymous)", response_class=Response)
def get_owner(job_id: str, service: JobService = Depends(job_service), owner: str | None = Depends(caller)) -> Response:
    return text_response(service.get(job_id, owner).owner_id or "")


@router.get("/{job_id}/error", summary="The error document of a failed job", response_class=Response)
def get_error(job_id: str, service: JobService = Depends(job_service), owner: str | None = Depends(caller)) -> Response:
    from tapserver.votable import render_error_votable

    return Response(render_error_votable(service.error_document(job_id, owner)), media_type=VOTABLE)


@router.get("/{job_id}/results", summary="The job's results", response_class=Response)
def get_results(job_id: str, service: JobService = Depends(job_service), urls: UwsUrls = Depends(uws_urls),
                owner: str | None = Depends(caller)) -> Response:
    return Response(render.render_results(service.get(job_id, owner), urls), media_type=XML)


@router.get("/{job_id}/results/{result_id}", summary="One result (TAP: `result`); Range resumes a download",
            response_class=Response)
def get_result(job_id: str, result_id: str, request: Request, service: JobService = Depends(job_service),
               owner: str | None = Depends(caller)) -> Response:
    result = service.open_result(job_id, owner, result_id)
    size = result.info.size_bytes
    media_type = result.info.mime_type or "application/octet-stream"
    if size is None:
        return StreamingResponse(_chunks(result.stream), media_type=media_type)
    # a result never changes once written: a Range needs no validator
    headers, status, start, end = {"Accept-Ranges": "bytes"}, 200, 0, size
    try:
        byte_range = parse_range(request.headers.get("range"), size)
    except Unsatisfiable:
        result.stream.close()
        refusal = UsageFault(f"Range not satisfiable: the result has {size} bytes")
        refusal.status_code = 416
        return fault_response(refusal, headers={"Content-Range": f"bytes */{size}"})
    if byte_range is not None:
        status, start, end = 206, byte_range.start, byte_range.end
        headers["Content-Range"] = byte_range.content_range(size)
        result.stream.seek(start)
    headers["Content-Length"] = str(end - start)
    return StreamingResponse(_chunks(result.stream, end - start), status_code=status, media_type=media_type,
                             headers=headers)


@router.get("/{job_id}/parameters", summary="The job's parameters", response_class=Response)
def get_parameters(job_id: str, service: JobService = Depends(job_service), urls: UwsUrls = Depends(uws_urls),
                   owner: str | None = Depends(caller)) -> Response:
    return Response(render.render_parameters(service.get(job_id, owner), urls), media_type=XML)


@router.post("/{job_id}/parameters", summary="Add or replace parameters (while PENDING)", response_class=Response)
async def post_parameters(job_id: str, params: Params = Depends(dali_params),
                          service: JobService = Depends(job_service), urls: UwsUrls = Depends(uws_urls),
                          owner: str | None = Depends(caller)) -> Response:
    await run_in_threadpool(service.update_parameters, job_id, owner, params.items(), params.parts)
    return see_other(urls.job(job_id))


@router.get("/{job_id}/parameters/{name}", summary="An inline upload of the job", response_class=Response)
def get_parameter(job_id: str, name: str, service: JobService = Depends(job_service),
                  owner: str | None = Depends(caller)) -> Response:
    stream = service.open_upload(job_id, owner, name)
    return StreamingResponse(_chunks(stream), media_type=VOTABLE)
