"""Typed faults. DALI faults become VOTable error documents; SetupError becomes one CLI line."""

from __future__ import annotations


class TapserverError(Exception):
    """Base of all errors raised on purpose by tapserver."""


class SetupError(TapserverError):
    """The server cannot start or migrate (no database, no pgsphere, bad settings): one clear line."""


class DALIFault(TapserverError):
    """A DALI fault: rendered as a VOTable with QUERY_STATUS=ERROR and the given HTTP status."""

    status_code = 500
    label = "Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageFault(DALIFault):
    """The request is wrong (bad parameter, bad ADQL): HTTP 400."""

    status_code = 400
    label = "UsageFault"


class TooLargeFault(DALIFault):
    """The request body is larger than the service accepts: HTTP 413 (never read further, never cut)."""

    status_code = 413
    label = "UsageFault"


class NotFoundFault(DALIFault):
    """The requested resource does not exist: HTTP 404."""

    status_code = 404
    label = "NotFoundFault"


class AuthenticationFault(DALIFault):
    """Authentication is required or failed: HTTP 401."""

    status_code = 401
    label = "AuthenticationFault"


class PermissionFault(DALIFault):
    """The caller may not do this: HTTP 403."""

    status_code = 403
    label = "PermissionFault"


class TransientFault(DALIFault):
    """A temporary failure (database down, overload): HTTP 503; retry later."""

    status_code = 503
    label = "TransientFault"


class TimeoutFault(DALIFault):
    """The query ran past its time limit."""

    status_code = 400
    label = "TimeoutFault"


class FatalFault(DALIFault):
    """Our own failure: HTTP 500."""

    status_code = 500
    label = "FatalFault"
