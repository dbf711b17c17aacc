"""Storage for the pages: the plain SQL behind the landing statistics, the coverage and the dataset page.

Archive contents are read as the reader role (the query engine), like any user query. The operator's
figures (job queue, ingestion) live in unpublished schemas and are read with the owner engine, with fixed
statements only; when a table is missing they are reported as unknown rather than failing the page.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from tapserver.catalog.model import Table
from tapserver.catalog.store import published_table_count
from tapserver.db import describe_connection_error
from tapserver.uws.store import jobs_by_phase, oldest_queued
from tapserver.web.stats import Archive, CollectionStats, Observation, Operations, Target, wavelength_to_tev

_COLLECTIONS = text("""
SELECT obs_collection,
       string_agg(DISTINCT facility_name, ', ') AS facilities,
       string_agg(DISTINCT instrument_name, ', ') AS instruments,
       count(*) AS datasets,
       count(DISTINCT target_name) AS targets,
       sum(t_exptime) AS exposure_s,
       min(t_min) AS t_min, max(t_max) AS t_max,
       min(em_min) AS em_min, max(em_max) AS em_max,
       string_agg(DISTINCT calib_level::text, ', ') AS calib_levels,
       string_agg(DISTINCT coalesce(data_rights, 'unspecified'), ', ') AS rights
FROM ivoa.obscore
GROUP BY obs_collection
ORDER BY obs_collection
""")

_OBSERVATIONS = text("""
SELECT obs_publisher_did, obs_id, obs_collection, target_name, t_min, t_max, em_min, em_max,
       count(*) OVER () AS total
FROM ivoa.obscore
WHERE t_min IS NOT NULL AND t_max IS NOT NULL
ORDER BY t_min
LIMIT :limit
""")

_TARGETS = text("""
SELECT target_name, avg(s_ra) AS ra, avg(s_dec) AS dec, count(*) AS n
FROM ivoa.obscore
WHERE target_name IS NOT NULL AND s_ra IS NOT NULL AND s_dec IS NOT NULL
GROUP BY target_name
ORDER BY n DESC, target_name
LIMIT :limit
""")

# s_region is a pgsphere scircle; rows without one fall back to the pointing and half the field of view.
_FOOTPRINTS = """
SELECT CASE WHEN s_region IS NOT NULL THEN degrees(long(center(s_region))) ELSE s_ra END AS ra,
       CASE WHEN s_region IS NOT NULL THEN degrees(lat(center(s_region))) ELSE s_dec END AS dec,
       CASE WHEN s_region IS NOT NULL THEN degrees(radius(s_region)) ELSE s_fov / 2 END AS radius
FROM ivoa.obscore
WHERE s_region IS NOT NULL OR (s_ra IS NOT NULL AND s_dec IS NOT NULL AND s_fov IS NOT NULL)
"""

_FOOTPRINT_FINGERPRINT = text("""
SELECT count(*) || ':' || coalesce(sum(hashtext(concat_ws('/', s_region::text, s_ra, s_dec, s_fov))), 0)
FROM ivoa.obscore
""")


def load_archive(conn: Connection, *, max_observations: int = 5000, max_targets: int = 12) -> Archive:
    """Collections, the observations for the time-energy plot (first ``max_observations``) and top targets."""
    collections = tuple(
        CollectionStats(
            name=r.obs_collection, facilities=r.facilities or "", instruments=r.instruments or "",
            datasets=int(r.datasets), targets=int(r.targets),
            exposure_s=_float(r.exposure_s), t_min=_float(r.t_min), t_max=_float(r.t_max),
            e_min_tev=wavelength_to_tev(_float(r.em_max)), e_max_tev=wavelength_to_tev(_float(r.em_min)),
            calib_levels=r.calib_levels or "", rights=r.rights or "",
        )
        for r in conn.execute(_COLLECTIONS)
    )
    observations = []
    total = 0
    for r in conn.execute(_OBSERVATIONS, {"limit": max_observations}):
        total = int(r.total)
        observations.append(Observation(
            did=r.obs_publisher_did, obs_id=r.obs_id, collection=r.obs_collection, target=r.target_name,
            t_min=float(r.t_min), t_max=float(r.t_max),
            e_min_tev=wavelength_to_tev(_float(r.em_max)), e_max_tev=wavelength_to_tev(_float(r.em_min)),
        ))
    targets = tuple(Target(r.target_name, float(r.ra), float(r.dec), int(r.n))
                    for r in conn.execute(_TARGETS, {"limit": max_targets}))
    return Archive(collections, tuple(observations), total, targets)


def footprints_fingerprint(conn: Connection) -> str:
    """Changes whenever a footprint is added, removed or moved."""
    return str(conn.execute(_FOOTPRINT_FINGERPRINT).scalar_one())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select_expression(name: str, sql_type: str) -> str:
    """SQL for one column of the dataset page: geometries as STC-S text in degrees."""
    q = _quote(name)
    if sql_type == "scircle":
        return (f"'Circle ICRS ' || round(degrees(long(center({q})))::numeric, 6) || ' ' || "
                f"round(degrees(lat(center({q})))::numeric, 6) || ' ' || round(degrees(radius({q}))::numeric, 6)")
    if sql_type == "spoint":
        return (f"'Position ICRS ' || round(degrees(long({q}))::numeric, 6) || ' ' || "
                f"round(degrees(lat({q}))::numeric, 6)")
    if sql_type in ("spoly", "sbox"):
        return f"{q}::text"
    return q


def load_dataset(conn: Connection, table: Table, did: str) -> dict[str, Any] | None:
    """The row of ``table`` (ivoa.obscore as published) whose obs_publisher_did is ``did``."""
    if table.column("obs_publisher_did") is None:
        return None
    columns = ", ".join(f"{_select_expression(c.name, c.sql_type)} AS {_quote(c.name)}" for c in table.columns)
    sql = (f"SELECT {columns} FROM {_quote(table.schema)}.{_quote(table.name)} "
           "WHERE obs_publisher_did = :did LIMIT 1")
    row = conn.execute(text(sql), {"did": did}).mappings().first()
    return dict(row) if row is not None else None


def load_operations(query_engine: Engine, admin_engine: Engine) -> Operations:
    """Health figures; each part is independent and missing parts are None."""
    started = time.perf_counter()
    try:
        with query_engine.connect() as conn:
            published: int | None = published_table_count(conn)
        ok, note = True, "accepting queries"
        elapsed: float | None = (time.perf_counter() - started) * 1000.0
    except SQLAlchemyError as exc:
        ok, note, published, elapsed = False, describe_connection_error(exc, "the archive database"), None, None
    jobs: dict[str, int] | None = None
    oldest: datetime | None = None
    files: int | None = None
    last: datetime | None = None
    if ok:
        try:
            with admin_engine.connect() as conn:
                jobs = jobs_by_phase(conn)
                oldest = oldest_queued(conn)
        except SQLAlchemyError:
            jobs = None
        try:
            with admin_engine.connect() as conn:
                r = conn.execute(text(
                    "SELECT count(*) AS n, max(last_ingested) AS last FROM ingest.source_file")).one()
                files, last = int(r.n), r.last
        except SQLAlchemyError:
            files = None
    return Operations(ok, elapsed, note, published, jobs, oldest, files, last)


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def archive(engine: Engine) -> Archive:
    with engine.connect() as conn:
        return load_archive(conn)


def dataset_row(engine: Engine, table: Table, did: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        return load_dataset(conn, table, did)


def fingerprint(engine: Engine) -> str:
    with engine.connect() as conn:
        return footprints_fingerprint(conn)


def footprint_count(engine: Engine) -> int:
    """How many observations have a field of view (rows of :func:`footprints`, before the radius check)."""
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM ({_FOOTPRINTS}) AS f")).scalar_one())


def _positive(rows: Iterable[Sequence[Any]]) -> list[tuple[float, float, float]]:
    return [(float(r[0]), float(r[1]), float(r[2])) for r in rows if r[2] is not None and r[2] > 0]


def footprints(dsn: str) -> list[tuple[float, float, float]]:
    """(ra, dec, radius) in degrees of every field of view with a positive radius, read on a connection of
    its own to ``dsn`` (a libpq URI): for a child process, which has no engine."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        return _positive(conn.execute(_FOOTPRINTS))


def footprints_of(engine: Engine) -> list[tuple[float, float, float]]:
    """As :func:`footprints`, read on a pooled connection of ``engine`` (in the server process)."""
    with engine.connect() as conn:
        return _positive(conn.execute(text(_FOOTPRINTS)))
