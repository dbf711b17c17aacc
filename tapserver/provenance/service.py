"""The ProvSAP service without HTTP: parameters in, a rendered document out (DALI faults on errors).

Parameters (ProvDAL draft, provenance.md §3; names case-insensitive, keyword values in any case):

============== ================================================================================
ID             entity, activity or agent identifier; repeatable, the answers are merged (required)
DEPTH          relations followed from each ID: 0, 1, 2, ... up to the server limit, or ALL (default 1)
DIRECTION      BACK (progenitors, default) or FORTH (descendants)
AGENT          true/1: also follow agents to what they are responsible for (default false)
MEMBERS        true/1: also follow collections down to their members (default false)
MODEL          IVOA (default: W3C PROV plus the Provenance DM classes) or W3C (W3C PROV only)
RESPONSEFORMAT PROV-JSON (default), PROV-N, PROV-XML, PROV-VOTABLE or PROV-SVG (or their MIME types)
============== ================================================================================

Errors are DALI faults: 400 for a bad value or an answer over a node limit (the server's, or the lower one of
PROV-N/PROV-XML and SVG; the database counts the nodes first and sends no rows then), 404 for an ID that
names no entity, activity or agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from tapserver.config import Settings
from tapserver.dali.dbfaults import fault_from_database
from tapserver.dali.params import Params
from tapserver.errors import NotFoundFault, UsageFault
from tapserver.provenance.formats import FORMATS, RenderContext, ResponseFormat, find_format
from tapserver.provenance.mapping import Model
from tapserver.provenance.storage import Direction, WalkRequest, read_only_walk

MAX_DEPTH = 50
"""Largest numeric DEPTH (``Settings.provsap_max_depth`` once it exists)."""
MAX_NODES = 200_000
"""Most nodes (entities, activities, agents) in one answer (``Settings.provsap_max_nodes``)."""
MAX_IDS = 1_000

PARAMETERS = ("ID", "DEPTH", "DIRECTION", "AGENT", "MEMBERS", "MODEL", "RESPONSEFORMAT")
_IGNORED = ("RUNID",)
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


@dataclass(frozen=True)
class Limits:
    max_depth: int = MAX_DEPTH
    max_nodes: int = MAX_NODES
    timeout_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(max_depth=int(getattr(settings, "provsap_max_depth", MAX_DEPTH)),
                   max_nodes=int(getattr(settings, "provsap_max_nodes", MAX_NODES)),
                   timeout_s=settings.sync_timeout)


@dataclass(frozen=True)
class ProvSAPRequest:
    ids: tuple[str, ...]
    depth: int | None  # None: ALL
    direction: Direction
    agent: bool
    members: bool
    model: Model
    output: ResponseFormat

    def walk_request(self) -> WalkRequest:
        return WalkRequest(ids=self.ids, depth=self.depth, direction=self.direction, agent=self.agent,
                           members=self.members,
                           details=self.output.details and self.model is Model.IVOA)

    def echo(self) -> dict[str, str]:
        """The request as INFO elements (PROV-VOTABLE)."""
        return {"ID": " ".join(self.ids), "DEPTH": "ALL" if self.depth is None else str(self.depth),
                "DIRECTION": self.direction.value, "AGENT": str(self.agent).lower(),
                "MEMBERS": str(self.members).lower(), "MODEL": self.model.value,
                "RESPONSEFORMAT": self.output.name}


@dataclass(frozen=True)
class ProvSAPResponse:
    body: bytes
    media_type: str


def _keyword(params: Params, name: str, choices: tuple[str, ...], default: str) -> str:
    value = params.single(name)
    if value is None or not value.strip():
        return default
    upper = value.strip().upper()
    if upper not in choices:
        raise UsageFault(f"{name} must be {' or '.join(choices)}, not {value!r}")
    return upper


def _flag(params: Params, name: str) -> bool:
    value = params.single(name)
    if value is None or not value.strip():
        return False
    lower = value.strip().lower()
    if lower in _TRUE:
        return True
    if lower in _FALSE:
        return False
    raise UsageFault(f"{name} must be true or false (1 or 0), not {value!r}")


def parse_request(params: Params, limits: Limits) -> ProvSAPRequest:
    """Check every parameter; a UsageFault (HTTP 400) names the first problem."""
    unknown = [name for name in params.names() if name not in PARAMETERS and name not in _IGNORED]
    if unknown:
        hint = " (STEPS: ActivityFlow is not part of the Provenance DM REC)" if "STEPS" in unknown else ""
        raise UsageFault(f"unsupported parameter {unknown[0]}{hint}; this service accepts "
                         f"{', '.join(PARAMETERS)}")
    ids = tuple(dict.fromkeys(value.strip() for value in params.all("ID") if value.strip()))
    if not ids:
        raise UsageFault("missing parameter ID (the identifier of an entity, activity or agent)")
    if len(ids) > MAX_IDS:
        raise UsageFault(f"at most {MAX_IDS} ID values are accepted in one request")
    depth_text = params.single("DEPTH")
    depth: int | None = 1
    if depth_text is not None and depth_text.strip():
        if depth_text.strip().upper() == "ALL":
            depth = None
        else:
            try:
                depth = int(depth_text.strip())
            except ValueError:
                raise UsageFault(f"DEPTH must be a non-negative integer or ALL, not {depth_text!r}") from None
            if depth < 0:
                raise UsageFault(f"DEPTH must be a non-negative integer or ALL, not {depth_text!r}")
            if depth > limits.max_depth:
                raise UsageFault(f"DEPTH must be at most {limits.max_depth} (or ALL), not {depth}")
    output = find_format(params.single("RESPONSEFORMAT"))
    if output is None:
        names = ", ".join(fmt.name for fmt in FORMATS)
        raise UsageFault(f"unsupported RESPONSEFORMAT {params.single('RESPONSEFORMAT')!r}; use one of {names}")
    return ProvSAPRequest(
        ids=ids,
        depth=depth,
        direction=Direction(_keyword(params, "DIRECTION", tuple(d.value for d in Direction), "BACK")),
        agent=_flag(params, "AGENT"),
        members=_flag(params, "MEMBERS"),
        model=Model(_keyword(params, "MODEL", tuple(m.value for m in Model), "IVOA")),
        output=output,
    )


class ProvSAPService:
    """Walk the provenance graph as the read-only role and render the answer."""

    def __init__(self, engine: Engine, limits: Limits) -> None:
        self.engine = engine
        self.limits = limits

    def _node_limit(self, request: ProvSAPRequest) -> int:
        """Largest answer for the request's format (PROV-N, PROV-XML and SVG have lower limits)."""
        own = request.output.max_nodes
        return self.limits.max_nodes if own is None else min(own, self.limits.max_nodes)

    def handle(self, params: Params) -> ProvSAPResponse:
        return self.run(parse_request(params, self.limits))

    def run(self, request: ProvSAPRequest) -> ProvSAPResponse:
        try:
            result = read_only_walk(self.engine, request.walk_request(), max_nodes=self._node_limit(request),
                                    timeout_s=self.limits.timeout_s)
        except DBAPIError as exc:
            raise fault_from_database(exc, timeout_s=self.limits.timeout_s, sync=False) from None
        missing = [identifier for identifier in request.ids if identifier not in result.found]
        if missing:
            raise NotFoundFault(f"unknown ID {missing[0]!r}: no entity, activity or agent has this identifier"
                                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        if result.graph is None:  # over the limit: the database counted the nodes and sent no rows
            if result.node_count > self.limits.max_nodes:
                raise UsageFault(f"the answer has {result.node_count} nodes, more than the limit of "
                                 f"{self.limits.max_nodes}; ask for a smaller DEPTH")
            what = "to draw" if request.output.name == "PROV-SVG" else f"for {request.output.name}"
            raise UsageFault(f"the answer has {result.node_count} nodes, too many {what} (at most "
                             f"{self._node_limit(request)}); ask for a smaller DEPTH, or for PROV-JSON or "
                             "PROV-VOTABLE")
        info = {**request.echo(), "request_date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")}
        context = RenderContext(model=request.model, direction=request.direction, info=info)
        return ProvSAPResponse(request.output.render(result.graph, context), request.output.media_type)
