"""The job model: phases, parameters, instants and identifiers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tapserver.uws.model import (
    ABORTABLE_PHASES,
    ACTIVE_PHASES,
    FINAL_PHASES,
    RUNNABLE_PHASES,
    JobParameters,
    Phase,
    format_instant,
    is_job_id,
    new_job_id,
    parse_instant,
)

pytestmark = pytest.mark.nodb


def test_phase_parse_ignores_case_and_rejects_unknown() -> None:
    assert Phase.parse(" executing ") is Phase.EXECUTING
    with pytest.raises(ValueError, match="unknown phase 'RUNNING'"):
        Phase.parse("RUNNING")


def test_phase_sets_are_consistent() -> None:
    assert not FINAL_PHASES & ABORTABLE_PHASES
    assert not FINAL_PHASES & RUNNABLE_PHASES
    assert {Phase.PENDING, Phase.QUEUED, Phase.EXECUTING} == ACTIVE_PHASES
    assert {p.value for p in Phase} == {"PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED",
                                        "UNKNOWN", "HELD", "SUSPENDED", "ARCHIVED"}


def test_parameters_replace_single_valued_and_accumulate_upload() -> None:
    params = JobParameters()
    params.update([("lang", "ADQL"), ("Query", "SELECT 1"), ("upload", "a,param:a")])
    params.update([("QUERY", "SELECT 2"), ("UPLOAD", "b,http://x/b.xml"), ("runId", "r1")])
    assert params.get("query") == "SELECT 2"
    assert params.all("UPLOAD") == ["a,param:a", "b,http://x/b.xml"]
    assert params.items() == [("LANG", "ADQL"), ("QUERY", "SELECT 2"), ("UPLOAD", "a,param:a"),
                              ("UPLOAD", "b,http://x/b.xml"), ("RUNID", "r1")]
    params.update([("MAXREC", "1"), ("MAXREC", "2")])  # posted twice at once: both kept, last wins
    assert params.all("MAXREC") == ["1", "2"] and params.get("MAXREC") == "2"


def test_instants_are_utc_with_z() -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert format_instant(when) == "2024-01-02T03:04:05.678Z"
    assert format_instant(when.replace(microsecond=0)) == "2024-01-02T03:04:05Z"
    assert format_instant(when.astimezone(timezone(timedelta(hours=2)))) == "2024-01-02T03:04:05.678Z"
    assert format_instant(None) == ""
    assert parse_instant("2024-01-02T03:04:05Z") == when.replace(microsecond=0)
    assert parse_instant("2024-01-02T05:04:05+02:00") == when.replace(microsecond=0)
    assert parse_instant("2024-01-02T03:04:05") == when.replace(microsecond=0)  # no zone: UTC
    with pytest.raises(ValueError):
        parse_instant("yesterday")


def test_job_ids_are_random_and_url_safe() -> None:
    ids = {new_job_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 16 and is_job_id(i) and i.isalnum() and i == i.lower() for i in ids)
    assert not is_job_id("../etc") and not is_job_id("") and not is_job_id("x" * 65)
