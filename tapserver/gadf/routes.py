"""HTTP handler of the GADF data-store service (``/gadf/datastore``, GET, POST and HEAD).

The selection is ``ID`` (repeatable; POST a form for long lists) or an ADQL ``QUERY`` whose result holds
``obs_publisher_did``. ``RESPONSEFORMAT``: ``obs-index`` or ``hdu-index`` (FITS tables whose file
locations are this service's /files URLs, or with ``LOCATIONS=bundle`` paths inside a bundle), ``tar``
(the default) or ``zip`` (the bundle). HEAD gives the size of a bundle before downloading it.
"""

from __future__ import annotations

import os
from typing import BinaryIO

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from tapserver.adql import translate
from tapserver.auth.identity import caller_identity
from tapserver.dali.params import Params
from tapserver.dali.reader import dali_params
from tapserver.datalink.files import DataRoots
from tapserver.datalink.files import _open_descriptor as open_in_roots
from tapserver.datalink.model import FITS_MIME
from tapserver.datalink.obscore import obscore_rewrites
from tapserver.datalink.ranges import Unsatisfiable, http_date, parse_range, range_applies
from tapserver.datalink.rights import AccessPolicy, ChallengeFault
from tapserver.datalink.routes import get_access_policy
from tapserver.datalink.storage import ProductStore
from tapserver.dependencies import get_state
from tapserver.error_handlers import fault_response
from tapserver.errors import FatalFault, UsageFault
from tapserver.gadf.bundle import Opener, TarBundle, estimated_zip_size, iter_zip, members
from tapserver.gadf.model import GADF_PATH, GADF_RESPONSE_FORMATS, HDU_INDEX, OBS_INDEX, TAR, ZIP
from tapserver.gadf.service import MAX_SELECTION, DataStoreService, StoreFile
from tapserver.gadf.storage import ObservationStore, selected_dids
from tapserver.state import ServerState

router = APIRouter()


def _selection(params: Params, state: ServerState) -> list[str]:
    ids = [i for i in params.all("ID") if i.strip()]
    query = params.single("QUERY")
    if ids and query:
        raise UsageFault("give ID values or a QUERY, not both")
    if query is None:
        return ids
    lang = (params.single("LANG") or "ADQL").strip().upper()
    if not lang.startswith("ADQL"):
        raise UsageFault(f"LANG {lang!r} is not supported: use ADQL")
    translation = translate(query, state.catalogs.get(), maxrec=MAX_SELECTION,
                            rewrites=obscore_rewrites(state.settings.base_url))
    dids = selected_dids(state.engines.query, translation, state.settings.sync_timeout)
    if dids is None:
        raise UsageFault("the QUERY must select obs_publisher_did (the datasets of the data store)")
    return dids


def _opener(roots: DataRoots) -> Opener:
    """Opens bundle files: the rights were decided for the whole selection before the first byte; each file
    is opened as /files opens it (inside the data roots, no symlink at the end, a regular file), and must
    still have the size announced in Content-Length."""
    def open_file(stored: StoreFile) -> BinaryIO:
        real = roots.resolve(stored.real_path)
        try:
            if real is None:
                raise PermissionError("outside the data roots")
            fd = open_in_roots(real, roots)
        except OSError as exc:
            raise FatalFault(f"{stored.name} is no longer available: {exc}") from None
        stream = os.fdopen(fd, "rb")
        if os.fstat(fd).st_size != stored.size:
            stream.close()
            raise FatalFault(f"{stored.name} changed while the bundle was sent; download it again")
        return stream
    return open_file


@router.api_route(GADF_PATH, methods=["GET", "POST", "HEAD"], response_class=Response,
                  summary="GADF data store of a selection: obs-index, hdu-index, or a tar/zip bundle")
async def datastore(request: Request, params: Params = Depends(dali_params),
                    state: ServerState = Depends(get_state), caller: str | None = Depends(caller_identity),
                    policy: AccessPolicy = Depends(get_access_policy)) -> Response:
    response_format = (params.single("RESPONSEFORMAT") or TAR).strip().lower()
    if response_format not in GADF_RESPONSE_FORMATS:
        raise UsageFault(f"RESPONSEFORMAT must be one of {', '.join(GADF_RESPONSE_FORMATS)}, not {response_format!r}")
    locations = (params.single("LOCATIONS") or "url").strip().lower()
    if locations not in ("url", "bundle"):
        raise UsageFault(f"LOCATIONS must be url or bundle, not {locations!r}")
    engine = state.engines.admin
    roots = DataRoots(state.settings.data_roots)
    service = DataStoreService(ProductStore(engine), ObservationStore(engine), roots, policy)
    bundle = response_format in (TAR, ZIP)
    try:
        dids = await run_in_threadpool(_selection, params, state)
        store = await run_in_threadpool(service.build, dids, caller, with_files=bundle or locations == "bundle")
    except ChallengeFault as fault:
        return fault_response(fault, headers={"WWW-Authenticate": fault.challenge})
    if response_format == OBS_INDEX:
        body = await run_in_threadpool(store.obs_index)
        return _table(body, "obs-index.fits")
    if response_format == HDU_INDEX:
        base = None if locations == "bundle" else state.settings.base_url
        body = await run_in_threadpool(store.hdu_index, base)
        return _table(body, "hdu-index.fits")
    items = await run_in_threadpool(members, store)
    opener = _opener(roots)
    if response_format == ZIP:
        headers = {"Content-Disposition": 'attachment; filename="datastore.zip"',
                   "X-Estimated-Content-Length": str(estimated_zip_size(items))}
        if request.method == "HEAD":
            return Response(headers=headers, media_type="application/zip")
        return StreamingResponse(iter_zip(items, opener), media_type="application/zip", headers=headers)
    tar = TarBundle(items, opener)
    return _tar_response(request, tar)


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
    return StreamingResponse(tar.iter_range(start, end), status_code=status, headers=headers,
                             media_type="application/x-tar")
