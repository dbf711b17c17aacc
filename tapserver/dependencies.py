"""FastAPI dependencies: handlers get the server state (and through it settings and engines) from here."""

from __future__ import annotations

from fastapi import Request

from tapserver.state import ServerState


def get_state(request: Request) -> ServerState:
    """The ServerState built in the lifespan (tests may swap it)."""
    state: ServerState = request.app.state.server
    return state
