"""HTTP handler of the GADF data-store service (``/gadf/datastore``, GET, POST and HEAD).

The selection is ``ID`` (repeatable; POST a form for long lists) or an ADQL ``QUERY`` whose result holds
``obs_publisher_did``. ``RESPONSEFORMAT``: ``obs-index`` or ``hdu-index`` (FITS tables whose file
locations are this service's /files URLs, or with ``LOCATIONS=bundle`` paths inside a bundle), ``tar``
(the default) or ``zip`` (the bundle). HEAD gives the size of a bundle before downloading it.

A bundle larger than ``Settings.gadf_sync_limit_bytes`` is refused with 413 (its size in
``X-Estimated-Content-Length``, the message naming ``/gadf/async``). ``POST /gadf/async`` takes the same
selection and ``RESPONSEFORMAT`` (tar or zip) and creates a job of the TAP job list (``/tap/async/<id>``,
``PHASE=RUN`` to start it at once) whose result ``bundle`` is the archive (:mod:`tapserver.gadf.job`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from tapserver.adql import translate
from tapserver.auth.identity import caller_identity
from tapserver.dali.params import Params
from tapserver.datalink.model import FITS_MIME
from tapserver.datalink.obscore import obscore_rewrites
from tapserver.datalink.ranges import Unsatisfiable, http_date, parse_range, range_applies
from tapserver.datalink.rights import AccessPolicy, ChallengeFault
from tapserver.dependencies import dali_params, get_access_policy, get_factory
from tapserver.error_handlers import fault_response
from tapserver.errors import UsageFault
from tapserver.factory import Factory
from tapserver.gadf.bundle import (
    TarBundle,
    archive_size,
    batched,
    estimated_zip_size,
    iter_zip,
    members,
    read_ahead,
)
from tapserver.gadf.job import BundleSelection, job_parameters, submit
from tapserver.gadf.model import (
    BUNDLE_FORMATS,
    BUNDLE_MEDIA_TYPES,
    GADF_ASYNC_PATH,
    GADF_PATH,
    GADF_RESPONSE_FORMATS,
    HDU_INDEX,
    OBS_INDEX,
    TAR,
    ZIP,
)
from tapserver.gadf.service import MAX_SELECTION, DataStore, DataStoreService
from tapserver.gadf.storage import selected_dids
from tapserver.uws.model import PhaseAction, UwsUrls

router = APIRouter()
T = TypeVar("T")


def _selection(params: Params, factory: Factory) -> list[str]:
    ids = [i for i in params.all("ID") if i.strip()]
    query = params.single("QUERY")
    if ids and query:
        raise UsageFault("give ID values or a QUERY, not both")
    if query is None:
        return ids
    lang = (params.single("LANG") or "ADQL").strip().upper()
    if not lang.startswith("ADQL"):
        raise UsageFault(f"LANG {lang!r} is not supported: use ADQL")
    settings = factory.settings
    translation = translate(query, factory.catalogs.get(), maxrec=MAX_SELECTION,
                            rewrites=obscore_rewrites(settings.base_url))
    dids = selected_dids(factory.engines.query, translation, settings.sync_timeout)
    if dids is None:
        raise UsageFault("the QUERY must select obs_publisher_did (the datasets of the data store)")
    return dids


def _response_format(params: Params, allowed: tuple[str, ...]) -> str:
    value = (params.single("RESPONSEFORMAT") or TAR).strip().lower()
    if value not in allowed:
        raise UsageFault(f"RESPONSEFORMAT must be one of {', '.join(allowed)}, not {value!r}")
    return value


@router.api_route(GADF_PATH, methods=["GET", "POST", "HEAD"], response_class=Response,
                  summary="GADF data store of a selection: obs-index, hdu-index, or a tar/zip bundle")
async def datastore(request: Request, params: Params = Depends(dali_params),
                    factory: Factory = Depends(get_factory), caller: str | None = Depends(caller_identity),
                    policy: AccessPolicy = Depends(get_access_policy)) -> Response:
    response_format = _response_format(params, GADF_RESPONSE_FORMATS)
    locations = (params.single("LOCATIONS") or "url").strip().lower()
    if locations not in ("url", "bundle"):
        raise UsageFault(f"LOCATIONS must be url or bundle, not {locations!r}")
    service = factory.create_datastore_service(policy)
    with_files = response_format in (TAR, ZIP) or locations == "bundle"
    if response_format == OBS_INDEX:
        table = await _planned(params, factory, service, caller, with_files, DataStore.obs_index)
        return table if isinstance(table, Response) else _table(table, "obs-index.fits")
    if response_format == HDU_INDEX:
        base = None if locations == "bundle" else factory.settings.base_url
        table = await _planned(params, factory, service, caller, with_files, lambda store: store.hdu_index(base))
        return table if isinstance(table, Response) else _table(table, "hdu-index.fits")
    if response_format == TAR:
        opener = service.opener()
        tar = await _planned(params, factory, service, caller, with_files,
                             lambda store: TarBundle(members(store), opener))
        if isinstance(tar, Response):
            return tar
        if tar.length > factory.settings.gadf_sync_limit_bytes:
            return _too_large(factory, tar.length)
        return _tar_response(request, tar)
    items = await _planned(params, factory, service, caller, with_files, members)
    if isinstance(items, Response):
        return items
    size = estimated_zip_size(items)
    if size > factory.settings.gadf_sync_limit_bytes:
        return _too_large(factory, size)
    headers = {"Content-Disposition": 'attachment; filename="datastore.zip"', "X-Estimated-Content-Length": str(size)}
    if request.method == "HEAD":
        return Response(headers=headers, media_type=BUNDLE_MEDIA_TYPES[ZIP])
    return StreamingResponse(read_ahead(batched(iter_zip(items, service.opener()))), media_type=BUNDLE_MEDIA_TYPES[ZIP],
                             headers=headers)


async def _planned(params: Params, factory: Factory, service: DataStoreService, caller: str | None,
                   with_files: bool, then: Callable[[DataStore], T]) -> T | Response:
    """``then`` of the data store of the request's selection, or the 401 challenge of a restricted one. The
    selection, the data store and ``then`` run in one worker-thread call: each hop to the thread pool and back
    costs a wait for the event loop, which a streaming download keeps busy."""
    def plan() -> T:
        return then(service.build(_selection(params, factory), caller, with_files=with_files))

    try:
        return await run_in_threadpool(plan)
    except ChallengeFault as fault:
        return fault_response(fault, headers={"WWW-Authenticate": fault.challenge})


def _too_large(factory: Factory, size: int) -> Response:
    limit = factory.settings.gadf_sync_limit_bytes
    refusal = UsageFault(f"the bundle would hold {size / 1e6:,.0f} MB, more than the {limit / 1e6:,.0f} MB sent in "
                         f"one request: POST the same parameters to {factory.settings.base_url}{GADF_ASYNC_PATH} "
                         "(an async job whose result is the bundle)")
    refusal.status_code = 413
    return fault_response(refusal, headers={"X-Estimated-Content-Length": str(size)})


@router.post(GADF_ASYNC_PATH, response_class=Response, status_code=303,
             summary="A GADF bundle of a selection as an async (UWS) job; the job's result `bundle` is the archive")
async def bundle_job(params: Params = Depends(dali_params), factory: Factory = Depends(get_factory),
                     caller: str | None = Depends(caller_identity),
                     policy: AccessPolicy = Depends(get_access_policy)) -> Response:
    archive = _response_format(params, BUNDLE_FORMATS)
    phase = params.single("PHASE")
    if phase is not None and phase.strip().upper() != PhaseAction.RUN.value:
        raise UsageFault(f"only PHASE=RUN may be given when creating a job, not PHASE={phase}")
    jobs = factory.create_job_service()
    planned = await _planned(params, factory, factory.create_datastore_service(policy), caller, True,
                             lambda store: (store, members(store)))
    if isinstance(planned, Response):
        return planned
    store, items = planned
    size = archive_size(items, archive)
    control = [(name, value) for name in ("RUNID", "EXECUTIONDURATION", "DESTRUCTION")
               if (value := params.single(name)) is not None]
    parameters = job_parameters(store, archive, size, params.single("QUERY"), control)
    selection = BundleSelection(store.dids, archive, store.restricted)
    job_id = await run_in_threadpool(submit, jobs, selection, parameters, caller, phase is not None)
    return Response(status_code=303, headers={"Location": UwsUrls(f"{factory.settings.tap_url}/async").job(job_id),
                                              "X-Estimated-Content-Length": str(size)})


def _table(body: bytes, name: str) -> Response:
    return Response(body, media_type=FITS_MIME, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _tar_response(request: Request, tar: TarBundle) -> Response:
    headers = {"ETag": tar.etag, "Last-Modified": http_date(tar.last_modified), "Accept-Ranges": "bytes",
               "Content-Disposition": 'attachment; filename="datastore.tar"', "Cache-Control": "private"}
    start, end, status = 0, tar.length, 200
    if range_applies(tar.etag, tar.last_modified, request.headers.get("if-range")):
        try:
            byte_range = parse_range(request.headers.get("range"), tar.length)
        except Unsatisfiable:
            refusal = UsageFault(f"Range not satisfiable: the bundle has {tar.length} bytes")
            refusal.status_code = 416
            return fault_response(refusal, headers={"Content-Range": f"bytes */{tar.length}"})
        if byte_range is not None:
            start, end, status = byte_range.start, byte_range.end, 206
            headers["Content-Range"] = byte_range.content_range(tar.length)
    headers["Content-Length"] = str(end - start)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type="application/x-tar")
    return StreamingResponse(read_ahead(tar.iter_batches(start, end)), status_code=status, headers=headers,
                             media_type="application/x-tar")
