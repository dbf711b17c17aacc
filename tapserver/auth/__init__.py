"""Authentication and authorisation.

* :mod:`tapserver.auth.identity`: the authenticated user (Starlette ``request.user``).
* :mod:`tapserver.auth.tokens`: operator-issued bearer tokens, stored hashed in ``auth.token``.
* :mod:`tapserver.auth.oidc`: OIDC bearer JWTs checked against the issuer's JWKS.
* :mod:`tapserver.auth.middleware`: the ASGI middleware that authenticates each request and writes the
  audit log (logger ``tapserver.audit``).
* :mod:`tapserver.auth.policy`: group grants on proprietary products (the DataLink ``AccessPolicy``).

:func:`install` wires all of it into an application.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from tapserver.config import Settings

TOKEN_SECURITY_METHOD = "ivo://ivoa.net/sso#token"


def install(app: FastAPI, settings: Settings) -> None:
    """Add the authentication middleware and the DataLink access policy to ``app``."""
    from tapserver.auth.middleware import AuthMiddleware
    from tapserver.auth.policy import request_policy

    app.add_middleware(AuthMiddleware, settings=settings)
    # read by tapserver.datalink.routes.get_access_policy (not a dependency override: see there)
    app.state.access_policy = request_policy
