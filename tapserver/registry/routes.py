"""GET/POST /oai: the OAI-PMH publishing endpoint (see tapserver.registry.oai)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from tapserver.dependencies import get_factory
from tapserver.factory import Factory
from tapserver.registry.oai import ServiceRecord, respond

router = APIRouter()


def capabilities_document(factory: Factory) -> bytes:
    """The same document as /tap/capabilities."""
    from tapserver.tap import capabilities as caps
    from tapserver.tap import routes as tap_routes

    return caps.render_capabilities(factory.settings, tap_routes._features(), tap_routes._formats(), uploads=True,
                                    extra=tap_routes._extra_capabilities())


@router.api_route("/oai", methods=["GET", "POST"], summary="OAI-PMH publishing registry (this service's record)",
                  response_class=Response)
async def oai(request: Request, factory: Factory = Depends(get_factory)) -> Response:
    params = list(request.query_params.multi_items())
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"):
        form = await request.form()
        params += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]

    def render() -> bytes:
        from tapserver.tap.vosi_tables import render_tableset

        record = ServiceRecord.from_settings(factory.settings, factory.started)
        return respond(params, record, capabilities_document(factory), render_tableset(factory.catalogs.get()))

    return Response(await run_in_threadpool(render), media_type="text/xml; charset=utf-8")
