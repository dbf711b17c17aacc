"""FastAPI dependencies: handlers get the composition root (:class:`~tapserver.factory.Factory`) from here
and ask it for services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, Request

from tapserver.dali.params import Params
from tapserver.dali.reader import BodyLimits, read_params
from tapserver.datalink.rights import AccessPolicy
from tapserver.errors import FatalFault
from tapserver.factory import Factory


def factory_of(app: Any) -> Factory:
    """The factory the lifespan of ``app`` built (FatalFault when the app runs without its lifespan)."""
    factory: Factory | None = getattr(app.state, "factory", None)
    if factory is None:
        raise FatalFault("the server is not running (no application lifespan)")
    return factory


def get_factory(request: Request) -> Factory:
    """The one dependency through which handlers reach settings, caches and services."""
    return factory_of(request.app)


def get_access_policy(request: Request, factory: Factory = Depends(get_factory)) -> AccessPolicy:
    """The caller's grants on restricted datasets (tests may override this dependency)."""
    return factory.access_policy(request.scope.get("user"))


def body_limits(factory: Factory = Depends(get_factory)) -> BodyLimits:
    """The largest request bodies the settings allow."""
    return BodyLimits.from_settings(factory.settings)


async def dali_params(request: Request, limits: BodyLimits = Depends(body_limits)) -> AsyncIterator[Params]:
    """The request's DALI parameters (:mod:`tapserver.dali.reader`), for the time of the request."""
    async with read_params(request, limits) as params:
        yield params
