"""The UWS 1.1 job model: phases, the job record and the rules of phase changes. Pure Python."""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime


class Phase(enum.StrEnum):
    """UWS 1.1 execution phases (UWS §2.1.3, ``uws:ExecutionPhase``)."""

    PENDING = "PENDING"
    QUEUED = "QUEUED"
    EXECUTING = "EXECUTING"
    COMPLETED = "COMPLETED"
    ERROR = "ERROR"
    ABORTED = "ABORTED"
    UNKNOWN = "UNKNOWN"
    HELD = "HELD"
    SUSPENDED = "SUSPENDED"
    ARCHIVED = "ARCHIVED"

    @classmethod
    def parse(cls, value: str) -> Phase:
        try:
            return cls(value.strip().upper())
        except ValueError:
            allowed = ", ".join(p.value for p in cls)
            raise ValueError(f"unknown phase {value!r} (one of {allowed})") from None


#: Phases in which a job may still change by itself: WAIT blocks only in these (UWS §2.2.1.1).
ACTIVE_PHASES = frozenset({Phase.PENDING, Phase.QUEUED, Phase.EXECUTING})
#: Phases a job never leaves (except by destruction).
FINAL_PHASES = frozenset({Phase.COMPLETED, Phase.ERROR, Phase.ABORTED, Phase.ARCHIVED})
#: PHASE=RUN is accepted from these and queues the job.
RUNNABLE_PHASES = frozenset({Phase.PENDING, Phase.HELD, Phase.SUSPENDED})
#: PHASE=ABORT is accepted from these.
ABORTABLE_PHASES = frozenset({Phase.PENDING, Phase.QUEUED, Phase.EXECUTING, Phase.HELD, Phase.SUSPENDED})
#: PHASE=SUSPEND is accepted from these (a running statement is cancelled; RUN queues the job again).
SUSPENDABLE_PHASES = frozenset({Phase.QUEUED, Phase.EXECUTING})


class PhaseAction(enum.StrEnum):
    """What a client may POST to /phase."""

    RUN = "RUN"
    ABORT = "ABORT"
    SUSPEND = "SUSPEND"


class ErrorType(enum.StrEnum):
    """``uws:errorSummary/@type``."""

    TRANSIENT = "transient"
    FATAL = "fatal"


#: Parameters that may hold several values; every other one is replaced when posted again.
MULTI_VALUED = frozenset({"UPLOAD"})

#: Name of the single TAP result (TAP §2.2: it must be called ``result``).
RESULT_ID = "result"

_ID_ALPHABET = "abcdefghijkmnopqrstuvwxyz23456789"


def new_job_id() -> str:
    """A random, unguessable, URL-safe job identifier (16 characters, about 80 bits)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


def is_job_id(value: str) -> bool:
    """Whether a path segment can be a job id (cheap rejection of garbage before a database lookup)."""
    return 0 < len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_instant(value: datetime | None) -> str:
    """ISO 8601 in UTC with a trailing Z (UWS §2.2; taplint warns without the Z); '' for None."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    text = value.isoformat(timespec="milliseconds")  # 2024-01-02T03:04:05.678+00:00
    return (text[:19] if text[20:23] == "000" else text[:23]) + "Z"


def parse_instant(value: str) -> datetime:
    """Parse an ISO 8601 instant; a missing zone means UTC. ValueError if it is not one, or if in UTC it
    falls outside the years 1 to 9999 (``0001-01-01T00:00:00+01:00``)."""
    text = value.strip()
    if not text:
        raise ValueError("empty date")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} is outside the years 1 to 9999 in UTC") from None


class JobParameters:
    """A job's parameters: upper-cased names, each with its list of values, in first-posted order."""

    def __init__(self, values: Mapping[str, Iterable[str]] | None = None) -> None:
        self._values: dict[str, list[str]] = {}
        for name, items in (values or {}).items():
            self._values[name.upper()] = list(items)

    def update(self, items: Iterable[tuple[str, str]]) -> None:
        """Add posted parameters: multi-valued ones accumulate, the others are replaced (UWS §2.2.3.1)."""
        fresh: dict[str, list[str]] = {}
        for name, value in items:
            fresh.setdefault(name.upper(), []).append(value)
        for name, values in fresh.items():
            if name in MULTI_VALUED:
                self._values.setdefault(name, []).extend(values)
            else:
                self._values[name] = values

    def items(self) -> list[tuple[str, str]]:
        """(name, value) pairs, one per value."""
        return [(name, value) for name, values in self._values.items() for value in values]

    def get(self, name: str) -> str | None:
        values = self._values.get(name.upper())
        return values[-1] if values else None

    def all(self, name: str) -> list[str]:
        return list(self._values.get(name.upper(), []))

    def as_dict(self) -> dict[str, list[str]]:
        return {name: list(values) for name, values in self._values.items()}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JobParameters) and self._values == other._values

    def __repr__(self) -> str:
        return f"JobParameters({self._values!r})"


@dataclass(frozen=True)
class ResultInfo:
    """One result of a job (TAP: exactly one, named ``result``)."""

    result_id: str
    location: str
    mime_type: str | None
    size_bytes: int | None
    row_count: int | None


@dataclass(frozen=True)
class InlineUpload:
    """An inline (multipart) upload stored with the job until it runs."""

    name: str
    location: str
    size_bytes: int


@dataclass(frozen=True)
class Job:
    """A UWS job as stored."""

    job_id: str
    phase: Phase
    owner_id: str | None
    run_id: str | None
    creation_time: datetime
    start_time: datetime | None
    end_time: datetime | None
    destruction_time: datetime
    execution_duration: int
    quote: datetime | None
    error_message: str | None
    error_type: ErrorType | None
    parameters: JobParameters
    results: tuple[ResultInfo, ...] = ()
    uploads: tuple[InlineUpload, ...] = ()
    attempt: int = 0
    worker_no: int | None = None

    def result(self, result_id: str) -> ResultInfo | None:
        return next((r for r in self.results if r.result_id == result_id), None)

    def upload(self, name: str) -> InlineUpload | None:
        return next((u for u in self.uploads if u.name == name), None)


@dataclass(frozen=True)
class JobSummary:
    """One row of the job list (``uws:jobref``)."""

    job_id: str
    phase: Phase
    run_id: str | None
    owner_id: str | None
    creation_time: datetime


@dataclass(frozen=True)
class JobFilter:
    """Job list filters (UWS 1.1 §2.2.2.1): PHASE (union), AFTER (creationTime), LAST (newest n); ANDed."""

    phases: frozenset[Phase] = field(default_factory=frozenset)
    after: datetime | None = None
    last: int | None = None


@dataclass(frozen=True)
class ClaimedJob:
    """A job a worker has claimed: what it needs to run it, and the fencing token to finish it."""

    job_id: str
    attempt: int
    owner_id: str | None
    run_id: str | None
    execution_duration: int
    parameters: JobParameters
    uploads: tuple[InlineUpload, ...]


class UwsUrls:
    """The public URLs of the job resources."""

    def __init__(self, jobs_url: str) -> None:
        self.jobs = jobs_url.rstrip("/")

    def job(self, job_id: str) -> str:
        return f"{self.jobs}/{job_id}"

    def result(self, job_id: str, result_id: str) -> str:
        return f"{self.jobs}/{job_id}/results/{result_id}"

    def parameter(self, job_id: str, name: str) -> str:
        return f"{self.jobs}/{job_id}/parameters/{name}"
