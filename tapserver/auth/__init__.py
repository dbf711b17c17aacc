"""Authentication and authorisation.

* :mod:`tapserver.auth.identity`: the authenticated user (Starlette ``request.user``).
* :mod:`tapserver.auth.tokens`: operator-issued bearer tokens, stored hashed in ``auth.token``.
* :mod:`tapserver.auth.oidc`: OIDC bearer JWTs checked against the issuer's JWKS.
* :mod:`tapserver.auth.middleware`: the ASGI middleware that authenticates each request and writes the
  audit log (logger ``tapserver.audit``).
* :mod:`tapserver.auth.policy`: group grants on proprietary products (the DataLink ``AccessPolicy``,
  handed out by :meth:`tapserver.factory.Factory.access_policy`).

:func:`install` adds the middleware to an application.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from tapserver.auth.middleware import TokenSource
    from tapserver.config import Settings

TOKEN_SECURITY_METHOD = "ivo://ivoa.net/sso#token"


def install(app: FastAPI, settings: Settings, tokens: TokenSource) -> None:
    """Add the authentication middleware to ``app``; ``tokens`` gives the operator-token store of the
    application serving a request (the composition root owns it)."""
    from tapserver.auth.middleware import AuthMiddleware

    app.add_middleware(AuthMiddleware, settings=settings, tokens=tokens)
