"""A capability a DALI service adds to the VOSI capabilities document of the server."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExtraCapability:
    """A further capability (DataLink, ProvSAP, ...) with one ParamHTTP interface."""

    standard_id: str
    path: str
    version: str | None = None
