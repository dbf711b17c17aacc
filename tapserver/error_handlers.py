"""One error renderer for the whole app: every failure becomes a DALI VOTable error document."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException

from tapserver.errors import DALIFault, FatalFault, TransientFault, UsageFault

log = logging.getLogger("tapserver")

VOTABLE = "application/x-votable+xml"


def fault_response(fault: DALIFault, headers: dict[str, str] | None = None) -> Response:
    """Render a fault as a VOTable error document with its HTTP status."""
    from tapserver.votable import render_error_votable

    return Response(render_error_votable(fault.message), status_code=fault.status_code,
                    media_type=VOTABLE, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into a DALI error document."""

    @app.exception_handler(DALIFault)
    async def _dali(request: Request, exc: DALIFault) -> Response:
        return fault_response(exc)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        fault = UsageFault(str(exc.detail))
        fault.status_code = exc.status_code
        return fault_response(fault, headers=dict(exc.headers) if exc.headers else None)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg')}" for e in exc.errors()
        )
        return fault_response(UsageFault(f"invalid request: {problems}"))

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> Response:
        log.warning("database unavailable: %s", str(exc.orig).splitlines()[0] if exc.orig else exc)
        return fault_response(TransientFault("the archive database is unavailable; please retry later"))

    @app.exception_handler(DataError)
    async def _value_refused(request: Request, exc: DataError) -> Response:
        # SQLSTATE class 22 (data exception: NUL in text, a value out of range): the request's values are wrong.
        reason = str(exc.orig).splitlines()[0] if exc.orig else "invalid value"
        log.warning("the database refused a value on %s: %s", request.url.path, reason)
        return fault_response(UsageFault(f"invalid value: {reason}"))

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> Response:
        log.exception("database error on %s", request.url.path)
        return fault_response(FatalFault("internal database error"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return fault_response(FatalFault(f"internal error ({type(exc).__name__})"))
