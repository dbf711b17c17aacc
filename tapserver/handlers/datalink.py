"""HTTP handlers of DataLink: ``/datalink/links`` (GET, POST) and ``/files/{product id}`` (GET, HEAD).

Handlers parse the request, call the services in a worker thread and render the response; the rules
live in :mod:`tapserver.datalink.links` and :mod:`tapserver.datalink.files`.

Identity: the caller is ``request.user`` as set by the authentication middleware
(:func:`tapserver.auth.identity.caller_identity`), anonymous otherwise. Grants on restricted data come
from :func:`tapserver.dependencies.get_access_policy`; services from the factory.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from tapserver.auth.identity import caller_identity
from tapserver.dali.params import Params
from tapserver.datalink.document import render_links
from tapserver.datalink.files import ProductFile
from tapserver.datalink.links import LinksService
from tapserver.datalink.model import DATALINK_MIME, FILES_PATH, LINKS_PATH
from tapserver.datalink.ranges import (
    Unsatisfiable,
    http_date,
    not_modified,
    parse_range,
    range_applies,
)
from tapserver.datalink.rights import AccessPolicy, ChallengeFault
from tapserver.dependencies import dali_params, get_access_policy, get_factory
from tapserver.error_handlers import fault_response
from tapserver.errors import UsageFault
from tapserver.factory import Factory

router = APIRouter()

#: RESPONSEFORMAT values (MIME parameters stripped, lower case) and the Content-Type they give.
_LINKS_FORMATS = {
    "": DATALINK_MIME,
    "votable": DATALINK_MIME,
    "application/x-votable+xml": DATALINK_MIME,
    "text/xml": "text/xml",
}




def links_media_type(response_format: str | None) -> str:
    """Content-Type of a links response for RESPONSEFORMAT (DataLink §2.1.2: MIME parameters ignored)."""
    key = (response_format or "").split(";")[0].strip().lower()
    media_type = _LINKS_FORMATS.get(key)
    if media_type is None:
        raise UsageFault(f"RESPONSEFORMAT {response_format!r} is not supported by {LINKS_PATH}: "
                         "use votable or application/x-votable+xml")
    return media_type


@router.api_route(LINKS_PATH, methods=["GET", "POST"], response_class=Response, summary="DataLink {links}")
async def links(params: Params = Depends(dali_params), factory: Factory = Depends(get_factory),
                caller: str | None = Depends(caller_identity),
                policy: AccessPolicy = Depends(get_access_policy)) -> Response:
    media_type = links_media_type(params.single("RESPONSEFORMAT"))
    service = factory.create_links_service(policy)
    body = await run_in_threadpool(_links_document, service, params.all("ID"), caller)
    return Response(body, media_type=media_type)


def _links_document(service: LinksService, ids: list[str], caller: str | None) -> bytes:
    return render_links(service.links(ids, caller), service.base_url)


def _file_headers(opened: ProductFile) -> dict[str, str]:
    return {
        "ETag": opened.etag,
        "Last-Modified": http_date(opened.last_modified),
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'attachment; filename="{opened.filename}"',
        "Cache-Control": "private" if opened.restricted else "public",
    }


def _unsatisfiable(length: int) -> Response:
    refusal = UsageFault(f"Range not satisfiable: the representation has {length} bytes")
    refusal.status_code = 416
    return fault_response(refusal, headers={"Content-Range": f"bytes */{length}"})


@router.api_route(FILES_PATH + "/{product_id:path}", methods=["GET", "HEAD"], response_class=Response,
                  summary="Download a data product (file or FITS HDU)")
async def download(product_id: str, request: Request, factory: Factory = Depends(get_factory),
                   caller: str | None = Depends(caller_identity),
                   policy: AccessPolicy = Depends(get_access_policy)) -> Response:
    service = factory.create_file_service(policy)
    try:
        opened = await run_in_threadpool(service.open, product_id, caller)
    except ChallengeFault as fault:
        return fault_response(fault, headers={"WWW-Authenticate": fault.challenge})
    headers = _file_headers(opened)
    if not_modified(opened.etag, opened.last_modified, request.headers.get("if-none-match"),
                    request.headers.get("if-modified-since")):
        opened.close()
        return Response(status_code=304, headers=headers)
    await run_in_threadpool(opened.prepare)
    length = opened.length
    byte_range = None
    if range_applies(opened.etag, opened.last_modified, request.headers.get("if-range")):
        try:
            byte_range = parse_range(request.headers.get("range"), length)
        except Unsatisfiable:
            opened.close()
            return _unsatisfiable(length)
    start, end = (byte_range.start, byte_range.end) if byte_range else (0, length)
    headers["Content-Length"] = str(end - start)
    status = 200
    if byte_range is not None:
        headers["Content-Range"] = byte_range.content_range(length)
        status = 206
    if request.method == "HEAD":
        opened.close()
        return Response(status_code=status, headers=headers, media_type=opened.content_type)
    return StreamingResponse(opened.iter_range(start, end), status_code=status, headers=headers,
                             media_type=opened.content_type)
