"""IVOA quirks and input rules handled once for every endpoint: case-insensitive parameter names in query
strings, control characters refused in paths and query strings, and the Server header. Request bodies are
read by the endpoints that take parameters (tapserver.dali.reader), which apply the same rules to them."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tapserver import __version__
from tapserver.controlchars import check_parameter, check_path
from tapserver.errors import UsageFault

SERVER_HEADER = f"tapserver/{__version__}".encode()


def _upper_keys(raw: str) -> str:
    """The parameters with upper-cased names; UsageFault for a control character in a name or value."""
    items = parse_qsl(raw, keep_blank_values=True)
    for name, value in items:
        check_parameter(name, value)
    return urlencode([(k.upper(), v) for k, v in items])


class DALIParamsMiddleware:
    """Upper-case DALI parameter names (DALI §3.1) in query strings; values untouched.

    A control character in the path or in a query parameter (NUL above all, which PostgreSQL refuses in
    text) is answered here with a 400 DALI error document, before any endpoint sees it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            scope = self._normalised(scope)
        except UsageFault as fault:
            from tapserver.error_handlers import fault_response

            await fault_response(fault)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _normalised(scope: Scope) -> Scope:
        """The scope with upper-cased query parameter names; UsageFault for a control character."""
        check_path(scope.get("path", ""))
        if scope.get("query_string"):
            scope = dict(scope)
            scope["query_string"] = _upper_keys(scope["query_string"].decode("latin-1")).encode("latin-1")
        return scope


class ServerHeaderMiddleware:
    """Name tapserver and its version in the Server header (taplint CAP checks it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_server(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                headers.append((b"server", SERVER_HEADER))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_server)
