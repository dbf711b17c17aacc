"""The ASGI application: routers, middleware, error handlers and the lifespan that owns the factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from tapserver import __version__, error_handlers, observability
from tapserver import lifespan as uws_lifespan
from tapserver.config import Settings, get_settings
from tapserver.dependencies import factory_of
from tapserver.factory import Factory
from tapserver.handlers import datalink as datalink_routes
from tapserver.handlers import gadf as gadf_routes
from tapserver.handlers import metrics as metrics_routes
from tapserver.handlers import provsap as provsap_routes
from tapserver.handlers import registry as registry_routes
from tapserver.handlers import soda as soda_routes
from tapserver.handlers import tap as tap_routes
from tapserver.handlers import uws as uws_routes
from tapserver.handlers import vosi as vosi_routes
from tapserver.handlers import web as web_routes
from tapserver.middleware import DALIParamsMiddleware, ServerHeaderMiddleware


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; its lifespan builds the one :class:`~tapserver.factory.Factory` (engines,
    caches, stores) as ``app.state.factory`` and closes it at shutdown."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        factory = Factory.build(settings)
        app.state.factory = factory
        try:
            async with uws_lifespan.running(factory):
                yield
        finally:
            factory.close()

    app = FastAPI(
        title=settings.title,
        version=__version__,
        description="IVOA ObsTAP / ProvTAP service for DL3 gamma-ray observations",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    error_handlers.install(app)
    app.include_router(web_routes.router)
    app.include_router(vosi_routes.router)
    app.include_router(uws_routes.router)
    app.include_router(tap_routes.router)
    app.include_router(datalink_routes.router)
    app.include_router(provsap_routes.router)
    app.include_router(soda_routes.router)
    app.include_router(gadf_routes.router)
    from tapserver import auth  # authentication middleware

    auth.install(app, settings, tokens=lambda scope: factory_of(scope["app"]).tokens)
    app.add_middleware(DALIParamsMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Range"],
        expose_headers=["Content-Length", "Content-Range", "ETag", "Location"],
    )
    app.add_middleware(ServerHeaderMiddleware)
    app.include_router(registry_routes.router)  # OAI-PMH publishing registry at /oai
    app.include_router(metrics_routes.router)
    observability.install(app, settings)  # request ids, logs, request metrics: outermost middleware
    return app
