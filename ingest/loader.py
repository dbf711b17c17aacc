"""The storage layer: every database read and write of the ingester, one transaction per observation.

An observation is compared with what the database holds for its (obs_collection, obs_id), column by column at the
precision of the column type. Identical: nothing is written (re-running an ingest changes nothing). New: its rows
are inserted. Different: with ``update`` the old rows are replaced (delete + insert, cascading to ObsConfig and
DataLink) in the same transaction, so readers see the old rows or the new ones, never a mix; without, it is
refused. Provenance rows go into the same transaction as the data they describe.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
from psycopg.rows import dict_row

from ingest.errors import IngestError
from ingest.provenance import Rows, Run, activity_rows, observation_rows, utc_now
from ingest.records import Observation
from tapserver.config import Settings
from tapserver.db import describe_connection_error
from tapserver.errors import SetupError

OBSCORE, OBSCONFIG, PRODUCT, SOURCE_FILE = "ivoa.obscore", "obsconfig.obsconfig", "datalink.product", \
    "ingest.source_file"
OBSCORE_HEA = "ivoa.obscore_hea"
_PRODUCT_COLUMNS = ("product_id", "semantics", "description", "content_type", "content_length",
                    "content_qualifier", "local_semantics", "file_path", "hdu_name", "hdu_index", "checksum",
                    "sort_order")
_SHOWN_CHANGES = 6


@dataclass(frozen=True)
class Outcome:
    """What happened (or, in a dry run, would happen) to one observation."""

    kind: str  # loaded, updated, unchanged, refused
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _State:
    """What the database holds for one observation."""

    obscore: dict[str, Any]
    region: tuple[float, float, float] | None
    obsconfig: dict[str, Any] | None
    products: dict[str, tuple[Any, ...]]
    hea: dict[str, Any] | None = None


class Loader:
    """Writes observations for one run. Use as a context manager; :meth:`finish` closes the activity.

    It talks to psycopg directly: each observation's statements go to the server in one pipeline (one round
    trip), inside one transaction.
    """

    def __init__(self, settings: Settings, run: Run, *, dry_run: bool = False) -> None:
        self.run = run
        self.dry_run = dry_run
        url = settings.admin_url
        try:
            self._conn = psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False),
                                         autocommit=True, application_name="tapserver-ingest")
        except psycopg.Error as exc:
            raise SetupError(describe_connection_error(
                exc, f"the database {url.render_as_string(hide_password=True)}")) from None
        self._types = self._column_types()
        # Commits need not wait for the WAL flush: a crash may lose the last few (whole) files, never half of one.
        self._conn.execute("SET synchronous_commit TO off")
        self._states: dict[tuple[str, str], _State | None] = {}
        self._activity_open = False

    def __enter__(self) -> Loader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def lock_collection(self, collection: str) -> None:
        """Hold a session lock on the collection so that two ingests of it cannot interleave."""
        row = self._conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))",
                                 (f"tapserver-ingest:{collection}",)).fetchone()
        if not row or not row[0]:
            raise SetupError(f"another ingest of collection {collection!r} is running; try again when it ends")

    def prefetch(self, keys: Iterable[tuple[str, str]]) -> None:
        """Load the stored state of these observations in three queries (instead of three per file)."""
        wanted = [key for key in dict.fromkeys(keys) if key not in self._states]
        if not wanted:
            return
        columns = ", ".join("o." + _quoted(c) for c in self._types[OBSCORE] if c != "s_region")
        with self._conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                f"SELECT {columns}, long(center(o.s_region)) AS _lon, lat(center(o.s_region)) AS _lat, "
                "radius(o.s_region) AS _radius FROM ivoa.obscore o "
                "JOIN unnest(%(c)s::text[], %(o)s::text[]) AS k(c, o) ON o.obs_collection = k.c AND o.obs_id = k.o",
                {"c": [k[0] for k in wanted], "o": [k[1] for k in wanted]})
            found = {(r["obs_collection"], r["obs_id"]): r for r in cur.fetchall()}
            dids = [r["obs_publisher_did"] for r in found.values()]
            configs: dict[str, dict[str, Any]] = {}
            heas: dict[str, dict[str, Any]] = {}
            products: dict[str, dict[str, tuple[Any, ...]]] = {}
            if dids:
                cur.execute("SELECT * FROM obsconfig.obsconfig WHERE obs_publisher_did = ANY(%s)", (dids,))
                configs = {r["obs_publisher_did"]: r for r in cur.fetchall()}
                cur.execute("SELECT * FROM ivoa.obscore_hea WHERE obs_publisher_did = ANY(%s)", (dids,))
                heas = {r["obs_publisher_did"]: r for r in cur.fetchall()}
                cur.execute(f"SELECT obs_publisher_did, {', '.join(_PRODUCT_COLUMNS)} FROM datalink.product "
                            "WHERE obs_publisher_did = ANY(%s)", (dids,))
                for product in cur.fetchall():
                    products.setdefault(product["obs_publisher_did"], {})[product["product_id"]] = tuple(
                        product[c] for c in _PRODUCT_COLUMNS)
        for key in wanted:
            row = found.get(key)
            if row is None:
                self._states[key] = None
                continue
            region = None if row["_radius"] is None else (row.pop("_lon"), row.pop("_lat"), row.pop("_radius"))
            did = row["obs_publisher_did"]
            self._states[key] = _State(row, region, configs.get(did), products.get(did, {}), heas.get(did))

    def apply(self, observation: Observation, *, update: bool) -> Outcome:
        """Load, update, keep or refuse one observation (a dry run decides the same and writes nothing)."""
        key = observation.key
        if key not in self._states:
            self.prefetch([key])
        state = self._states[key]
        changes: tuple[str, ...] = ()
        if state is None:
            kind = "loaded"
        else:
            changes = self._differences(state, observation)
            if not changes:
                return Outcome("unchanged")
            if not update:
                return Outcome("refused", changes)
            kind = "updated"
        if not self.dry_run:
            self._write(observation, replace=state is not None)
        self._states[key] = self._state_of(observation)
        return Outcome(kind, changes)

    def finish(self, comment: str) -> None:
        """Close the run's activity (if it wrote anything) with its end time and a summary."""
        if not self._activity_open:
            return
        with self._transaction(None) as cur:
            cur.execute("UPDATE provenance.activity SET endtime = %s, comment = %s WHERE id = %s",
                        (utc_now(), comment, self.run.activity_id))

    # -- writing ------------------------------------------------------------------------------------------

    def _write(self, observation: Observation, *, replace: bool) -> None:
        with self._transaction(observation) as cur:
            if not self._activity_open:
                self._insert_provenance(cur, activity_rows(self.run))
            if replace:
                cur.execute("DELETE FROM ivoa.obscore WHERE obs_collection = %s AND obs_id = %s", observation.key)
            self._insert_obscore(cur, observation)
            _insert(cur, OBSCONFIG, [observation.obsconfig])
            _insert(cur, OBSCORE_HEA, [observation.hea] if observation.hea else [])
            _insert(cur, PRODUCT, [p.row(observation.did) for p in observation.products])
            self._upsert_sources(cur, observation)
            self._insert_provenance(cur, observation_rows(self.run, observation, utc_now()))
        self._activity_open = True

    @contextmanager
    def _transaction(self, observation: Observation | None) -> Iterator[psycopg.Cursor[Any]]:
        """One transaction sent as one pipeline (BEGIN, the statements and COMMIT: one round trip); a database
        error costs the file (IngestError), a lost connection the run (SetupError)."""
        try:
            with self._conn.pipeline(), self._conn.transaction(), self._conn.cursor() as cur:
                yield cur
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if isinstance(exc, psycopg.OperationalError) or self._conn.closed or observation is None:
                raise SetupError(f"ingest stopped: the database failed: {reason}") from None
            raise IngestError(observation.events.path, f"the database refused the rows: {reason}") from None

    def _insert_obscore(self, cur: psycopg.Cursor[Any], observation: Observation) -> None:
        values = dict(observation.obscore)
        columns = [_quoted(c) for c in values]
        params = [f"%({c})s" for c in values]
        if observation.region is not None:
            values.update(_lon=observation.region[0], _lat=observation.region[1], _radius=observation.region[2])
            columns.append("s_region")
            params.append("scircle(spoint(%(_lon)s, %(_lat)s), %(_radius)s)")
        cur.execute(f"INSERT INTO ivoa.obscore ({', '.join(columns)}) VALUES ({', '.join(params)})", values)

    def _upsert_sources(self, cur: psycopg.Cursor[Any], observation: Observation) -> None:
        collection, did = observation.key[0], observation.did
        rows = [{"file_path": s.path, "checksum": s.checksum, "size_bytes": s.size_bytes, "mtime": s.mtime,
                 "obs_collection": collection, "obs_publisher_did": did if s is observation.events else None}
                for s in observation.sources]
        # The event file belongs to this dataset; shared files (IRFs, indexes) keep their first owner.
        _insert(cur, SOURCE_FILE, rows[:1], suffix=(
            "ON CONFLICT (file_path) DO UPDATE SET checksum = EXCLUDED.checksum, size_bytes = EXCLUDED.size_bytes, "
            "mtime = EXCLUDED.mtime, obs_collection = EXCLUDED.obs_collection, "
            "obs_publisher_did = EXCLUDED.obs_publisher_did, last_ingested = now()"))
        _insert(cur, SOURCE_FILE, rows[1:], suffix=(
            "ON CONFLICT (file_path) DO UPDATE SET checksum = EXCLUDED.checksum, size_bytes = EXCLUDED.size_bytes, "
            "mtime = EXCLUDED.mtime, last_ingested = now() "
            "WHERE source_file.checksum IS DISTINCT FROM EXCLUDED.checksum"))

    def _insert_provenance(self, cur: psycopg.Cursor[Any], rows: Rows) -> None:
        nothing = "ON CONFLICT (id) DO NOTHING"
        _insert(cur, "provenance.activitydescription", rows.get("activitydescription", []), suffix=nothing)
        _insert(cur, "provenance.agent", rows.get("agent", []), suffix=nothing)
        _insert(cur, "provenance.activity", rows.get("activity", []), suffix=nothing)
        for table in ("wasinformedby", "wasassociatedwith", "parameter", "configfile"):
            _insert(cur, f"provenance.{table}", rows.get(table, []))
        _insert(cur, "provenance.entity", rows.get("file_entity", []), suffix=nothing)
        _insert(cur, "provenance.entity", rows.get("dataset_entity", []), suffix=(
            "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, location = EXCLUDED.location, "
            "generatedattime = EXCLUDED.generatedattime, content_type = EXCLUDED.content_type"))
        _insert(cur, "provenance.used", rows.get("used", []))
        # An entity is generated by one activity: the latest one that wrote it.
        _insert(cur, "provenance.wasgeneratedby", rows.get("wasgeneratedby", []), suffix=(
            "ON CONFLICT (entity_id) DO UPDATE SET activity_id = EXCLUDED.activity_id, role = EXCLUDED.role"))
        derived = rows.get("wasderivedfrom", [])
        if derived:
            values = ", ".join(["(%s, %s, %s::text)"] * len(derived))
            cur.execute(
                "INSERT INTO provenance.wasderivedfrom (generatedentity_id, usedentity_id, activity_id) "
                f"SELECT v.g, v.u, v.a FROM (VALUES {values}) AS v(g, u, a) WHERE NOT EXISTS ("
                "SELECT 1 FROM provenance.wasderivedfrom d WHERE d.generatedentity_id = v.g AND d.usedentity_id = v.u)",
                [row[c] for row in derived for c in ("generatedentity_id", "usedentity_id", "activity_id")])

    # -- comparing ----------------------------------------------------------------------------------------

    def _column_types(self) -> dict[str, dict[str, str]]:
        rows = self._conn.execute(
            "SELECT table_schema || '.' || table_name, column_name, "
            "CASE WHEN data_type = 'USER-DEFINED' THEN udt_name ELSE data_type END "
            "FROM information_schema.columns WHERE table_schema || '.' || table_name = ANY(%s) "
            "ORDER BY ordinal_position", ([OBSCORE, OBSCONFIG, PRODUCT, SOURCE_FILE, OBSCORE_HEA],)).fetchall()
        types: dict[str, dict[str, str]] = {}
        for table, column, kind in rows:
            types.setdefault(table, {})[column] = kind
        missing = [t for t in (OBSCORE, OBSCONFIG, PRODUCT, SOURCE_FILE, OBSCORE_HEA) if t not in types]
        if missing:
            raise SetupError(f"the database has no {', '.join(missing)} table: run `tapserver db upgrade` first")
        return types

    def _differences(self, state: _State, observation: Observation) -> tuple[str, ...]:
        changes = self._row_changes(OBSCORE, state.obscore, observation.obscore)
        if state.region != observation.region:
            changes.append(f"s_region: {_show_region(state.region)} -> {_show_region(observation.region)}")
        if state.obsconfig is None:
            changes.append("obsconfig: no row")
        else:
            changes += [f"obsconfig.{c}" for c in self._row_changes(OBSCONFIG, state.obsconfig,
                                                                      observation.obsconfig)]
        if observation.hea and state.hea is None:
            changes.append("obscore_hea: no row")
        elif observation.hea and state.hea is not None:
            changes += [f"obscore_hea.{c}" for c in self._row_changes(OBSCORE_HEA, state.hea, observation.hea)]
        new_products = {p.product_id: tuple(getattr(p, c) for c in _PRODUCT_COLUMNS) for p in observation.products}
        for product_id in sorted(set(state.products) | set(new_products)):
            old, new = state.products.get(product_id), new_products.get(product_id)
            if old is None or new is None:
                changes.append(f"datalink product {product_id}: {'added' if old is None else 'removed'}")
            elif old != new:
                fields = [f"{c}: {_show(a)} -> {_show(b)}" for c, a, b in zip(_PRODUCT_COLUMNS, old, new, strict=True)
                          if a != b]
                changes.append(f"datalink product {product_id}: " + ", ".join(fields))
        if len(changes) > _SHOWN_CHANGES:
            changes = [*changes[:_SHOWN_CHANGES], f"and {len(changes) - _SHOWN_CHANGES} more"]
        return tuple(changes)

    def _row_changes(self, table: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
        types = self._types[table]
        changes = []
        for column, value in new.items():
            if column not in types:
                raise SetupError(f"{table} has no column {column}: run `tapserver db upgrade`")
            before, after = _normal(types[column], old.get(column)), _normal(types[column], value)
            if before != after:
                changes.append(f"{column}: {_show(before)} -> {_show(after)}")
        return changes

    def _state_of(self, observation: Observation) -> _State:
        products = {p.product_id: tuple(getattr(p, c) for c in _PRODUCT_COLUMNS) for p in observation.products}
        return _State(dict(observation.obscore), observation.region, dict(observation.obsconfig), products,
                      dict(observation.hea) or None)


def _insert(cur: psycopg.Cursor[Any], table: str, rows: Sequence[dict[str, Any]], suffix: str = "") -> None:
    """INSERT the rows (all with the same keys) as one multi-row statement."""
    if not rows:
        return
    columns = list(rows[0])
    values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    cur.execute(f"INSERT INTO {table} ({', '.join(_quoted(c) for c in columns)}) VALUES {values} {suffix}",
                [row[c] for row in rows for c in columns])


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _normal(kind: str, value: Any) -> Any:
    """A value as the column type stores it (real is single precision)."""
    if value is None:
        return None
    if kind == "real":
        return float(np.float32(value))
    if kind == "double precision":
        return float(value)
    if kind in ("smallint", "integer", "bigint"):
        return int(value)
    return value


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.12g}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    text_value = repr(value)
    return text_value if len(text_value) <= 60 else text_value[:57] + "..."


def _show_region(region: tuple[float, float, float] | None) -> str:
    return "NULL" if region is None else "circle(" + ", ".join(f"{np.degrees(v):.8g}" for v in region) + ") deg"
