"""IVOA quirks and input rules handled once for every endpoint: case-insensitive parameter names, control
characters refused in paths and parameters, and the Server header."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tapserver import __version__
from tapserver.controlchars import check_parameter, check_path
from tapserver.errors import UsageFault

SERVER_HEADER = f"tapserver/{__version__}".encode()
_FORM = b"application/x-www-form-urlencoded"
_MAX_FORM_BYTES = 10_000_000


def _upper_keys(raw: str) -> str:
    """The parameters with upper-cased names; UsageFault for a control character in a name or value."""
    items = parse_qsl(raw, keep_blank_values=True)
    for name, value in items:
        check_parameter(name, value)
    return urlencode([(k.upper(), v) for k, v in items])


class DALIParamsMiddleware:
    """Upper-case DALI parameter names (DALI §3.1) in query strings and url-encoded bodies; values untouched.

    A control character in the path or in a parameter (NUL above all, which PostgreSQL refuses in text)
    is answered here with a 400 DALI error document, before any endpoint sees it. Multipart bodies are
    left alone here: tapserver.tap.params normalises and checks their fields when parsing.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            scope, receive = await self._normalised(scope, receive)
        except UsageFault as fault:
            from tapserver.error_handlers import fault_response

            await fault_response(fault)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _normalised(scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
        """The scope and body with upper-cased parameter names; UsageFault for a control character."""
        check_path(scope.get("path", ""))
        if scope.get("query_string"):
            scope = dict(scope)
            scope["query_string"] = _upper_keys(scope["query_string"].decode("latin-1")).encode("latin-1")
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"")
        if scope["method"] != "POST" or content_type.split(b";")[0].strip().lower() != _FORM:
            return scope, receive
        body = bytearray()
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > _MAX_FORM_BYTES:
                break
        new_body = _upper_keys(bytes(body).decode("utf-8", "replace")).encode()
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        headers.append((b"content-length", str(len(new_body)).encode()))
        scope = dict(scope)
        scope["headers"] = headers
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": new_body, "more_body": False}

        return scope, replay


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
