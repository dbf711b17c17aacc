"""Authenticate every HTTP request from its ``Authorization: Bearer`` header, and audit queries and
downloads.

The caller becomes ``scope["user"]`` (an :class:`~tapserver.auth.identity.AuthenticatedUser`, or
Starlette's ``UnauthenticatedUser``) as Starlette's ``AuthenticationMiddleware`` would set it. A bad,
expired, revoked or unknown token is answered with 401, ``WWW-Authenticate: Bearer`` and a DALI error
document: it is never read as anonymous. An unreachable OIDC issuer gives 503 (fail closed).

Audit (logger ``tapserver.audit``, one line per request): sync queries, async job creation and result
downloads, DataLink links and file downloads, with user, method, path, status, bytes and seconds.
Neither the token nor the query string is ever logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from anyio import to_thread
from starlette.authentication import AuthCredentials, UnauthenticatedUser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tapserver.auth.errors import InvalidToken, IssuerUnavailable
from tapserver.auth.identity import AuthenticatedUser, identity_of
from tapserver.auth.tokens import TokenStore, looks_like_operator_token
from tapserver.config import Settings
from tapserver.datalink.model import FILES_PATH, LINKS_PATH
from tapserver.error_handlers import fault_response
from tapserver.errors import AuthenticationFault, TransientFault

if TYPE_CHECKING:
    from tapserver.auth.oidc import OIDCVerifier

audit_log = logging.getLogger("tapserver.audit")
log = logging.getLogger("tapserver.auth")


def audit_event(method: str, path: str) -> str | None:
    """The audit event of a request, or None for requests that are not audited."""
    if path == "/tap/sync":
        return "query"
    if path == "/tap/async" and method == "POST":
        return "job-create"
    if path.startswith("/tap/async/") and "/results/" in path and method == "GET":
        return "job-result"
    if path.startswith(FILES_PATH + "/") and method in ("GET", "HEAD"):
        return "download"
    if path == LINKS_PATH:
        return "links"
    return None


#: The operator-token store of the application serving a request (given by the composition root).
TokenSource = Callable[[Scope], TokenStore]


class AuthMiddleware:
    """Pure ASGI middleware (so that its error responses bypass nothing and streaming is untouched)."""

    def __init__(self, app: ASGIApp, settings: Settings, tokens: TokenSource,
                 oidc: OIDCVerifier | None = None) -> None:
        self.app = app
        self.settings = settings
        self.tokens = tokens
        self.oidc = oidc
        if self.oidc is None and settings.auth_tokens and settings.oidc_issuer:
            # PyJWT, cryptography and httpx are imported only by a service that accepts OIDC tokens
            from tapserver.auth.oidc import OIDCVerifier

            self.oidc = OIDCVerifier(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        event = audit_event(scope["method"], scope["path"])
        sent = {"status": 0, "bytes": 0}

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
            elif message["type"] == "http.response.body":
                sent["bytes"] += len(message.get("body", b""))
            await send(message)

        user: AuthenticatedUser | None = None
        try:
            user = await self.authenticate(scope)
        except InvalidToken as exc:
            response = fault_response(AuthenticationFault(f"authentication failed: {exc}"), headers={
                "WWW-Authenticate": f'Bearer realm="tapserver", error="invalid_token", error_description="{exc}"'})
            await response(scope, receive, counting_send)
        except IssuerUnavailable as exc:
            response = fault_response(TransientFault(str(exc)), headers={"Retry-After": "30"})
            await response(scope, receive, counting_send)
        else:
            if user is not None:
                scope["user"], scope["auth"] = user, AuthCredentials(["authenticated"])
            else:  # keep a user set by an outer authentication layer (e.g. a trusted proxy)
                scope.setdefault("user", UnauthenticatedUser())
                scope.setdefault("auth", AuthCredentials([]))
            await self.app(scope, receive, counting_send)
        finally:
            if event is not None:
                audit_log.info("%s user=%s method=%s path=%s status=%s bytes=%d seconds=%.3f", event,
                               identity_of(scope.get("user")) or "-", scope["method"], scope["path"],
                               sent["status"], sent["bytes"], time.monotonic() - started)

    async def authenticate(self, scope: Scope) -> AuthenticatedUser | None:
        token = _bearer_token(scope)
        if token is None:
            return None
        if not self.settings.auth_tokens:
            raise InvalidToken("this service does not accept tokens")
        if looks_like_operator_token(token):
            return await to_thread.run_sync(self.tokens(scope).authenticate, token)
        if self.oidc is not None and _looks_like_jwt(token):
            return await to_thread.run_sync(self.oidc.authenticate, token)
        raise InvalidToken("unknown token")


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def _bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer`` header (other schemes are not ours: ignored)."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer":
                token = token.strip()
                if not token:
                    raise InvalidToken("empty bearer token")
                return token
    return None
