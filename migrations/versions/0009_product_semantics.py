"""Product semantics and per-observation provenance for archives ingested before them.

DataLink products: each product's kind (``events``, ``gti``, ``aeff`` ...) was only the fragment of its id; it
becomes ``local_semantics`` and the vocabulary term of the kind ``content_qualifier`` (the High-Energy ObsCore
note's response-type terms for the IRFs). A gzip event file recorded as ``application/x-fits-gzip`` is now
served decompressed: its row says ``application/fits`` and the decompressed length (NULL when the file cannot
be read here).

Provenance: an ingest run was one activity that used every file of the batch and generated every dataset, and
file entities were ``file://<server path>#<checksum>`` located by server paths. Each dataset now gets the
activity ``<run>/<obs_id>``, informed by the run and associated with its operator, that used that dataset's
own files and the index rows that described it (an entity per index table and observation, derived from the
event file); the run keeps its parameters and agent but uses nothing. File entities are renamed
``urn:tapserver:file:<path relative to its data root>#<checksum>`` and located by that relative path (the file
name for a file outside every ``TAPSERVER_DATA_ROOTS``), as are the run's config file and path parameters.

The rules are frozen here (not imported) so that this revision keeps meaning what it meant.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from alembic import context, op
from sqlalchemy import Connection, text

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_RESPONSE = "http://www.ivoa.net/rdf/response-type#"
_GADF = "https://gamma-astro-data-formats.readthedocs.io/en/v0.3/events/"
QUALIFIERS = {
    "events": "#event", "gti": _GADF + "gti.html", "pointing": _GADF + "pointing.html",
    "aeff": _RESPONSE + "aeff", "edisp": _RESPONSE + "edisp", "psf": _RESPONSE + "psf", "bkg": _RESPONSE + "bkgrate",
    "rad_max": _RESPONSE + "response-function",
}
FILE_PREFIX = "urn:tapserver:file:"
INDEX_ROLES = ("hdu-index", "obs-index")
PATH_PARAMETERS = ("inputs", "config")
#: Every column that refers to provenance.entity (id).
ENTITY_REFERENCES = (("used", "entity_id"), ("wasgeneratedby", "entity_id"), ("wasderivedfrom", "generatedentity_id"),
                     ("wasderivedfrom", "usedentity_id"), ("wasattributedto", "entity_id"), ("hadmember", "entity_id"),
                     ("hadmember", "collection_id"), ("parameter", "valueentity_id"))
_RUNS = ("SELECT id FROM provenance.activity WHERE name = 'ingest' "
         "AND activitydescription_id LIKE 'tapserver ingest/%'")


def upgrade() -> None:
    conn = op.get_bind()
    roots = tuple(os.path.realpath(r) for r in context.config.attributes.get("data_roots", []))
    _products(conn)
    _observation_activities(conn, roots)
    _relative_files(conn, roots)
    _run_paths(conn, roots)


def downgrade() -> None:
    """Nothing to undo in the schema: the rewritten values are the ones the current ingester writes."""


# -- DataLink products --------------------------------------------------------------------------------------

def _kind(product_id: str) -> str | None:
    fragment = product_id.rpartition("#")[2]
    name, dash, number = fragment.rpartition("-")
    if dash and number.isdigit():
        fragment = name
    return fragment.lower() if fragment.lower() in QUALIFIERS else None


def _products(conn: Connection) -> None:
    rows = conn.execute(text("SELECT product_id, content_type, file_path, hdu_name, hdu_index, local_semantics "
                             "FROM datalink.product")).all()
    updates = []
    for product_id, content_type, file_path, hdu_name, hdu_index, local in rows:
        kind = _kind(product_id) or (local.lower() if local and local.lower() in QUALIFIERS else None)
        change: dict[str, Any] = {"id": product_id, "kind": kind or local,
                                  "qualifier": QUALIFIERS.get(kind or ""), "type": content_type, "length": None,
                                  "set_length": False}
        if content_type == "application/x-fits-gzip" and hdu_name is None and hdu_index is None:
            change.update(type="application/fits", length=_inflated_size(file_path), set_length=True)
        updates.append(change)
    if updates:
        conn.execute(text(
            "UPDATE datalink.product SET local_semantics = :kind, "
            "content_qualifier = coalesce(:qualifier, content_qualifier), content_type = :type, "
            "content_length = CASE WHEN :set_length THEN :length ELSE content_length END WHERE product_id = :id"),
            updates)


def _inflated_size(path: str) -> int | None:
    try:
        with gzip.open(path, "rb") as stream:
            size = 0
            while chunk := stream.read(1 << 20):
                size += len(chunk)
            return size
    except (OSError, EOFError, zlib.error):
        return None


# -- provenance ---------------------------------------------------------------------------------------------

def _relative(path: str, roots: Sequence[str]) -> str:
    real = os.path.realpath(path)
    holders = [root for root in roots if real == root or real.startswith(root.rstrip(os.sep) + os.sep)]
    if not holders:
        return os.path.basename(real.rstrip(os.sep)) or "."
    return os.path.relpath(real, max(holders, key=len)).replace(os.sep, "/")


def _q(value: str) -> str:
    return quote(value, safe="-._~")


def _observation_activities(conn: Connection, roots: Sequence[str]) -> None:
    """Split each run into one activity per dataset it generated, using what that dataset was made from."""
    datasets = conn.execute(text(
        "SELECT g.entity_id, g.activity_id, o.obs_id, coalesce(d.generatedattime, a.starttime), "
        "(SELECT p.file_path FROM datalink.product p WHERE p.obs_publisher_did = o.obs_publisher_did "
        " AND p.semantics = '#this' ORDER BY p.sort_order LIMIT 1) "
        f"FROM provenance.wasgeneratedby g JOIN provenance.activity a ON a.id = g.activity_id "
        "JOIN ivoa.obscore o ON o.obs_publisher_did = g.entity_id "
        "JOIN provenance.entity d ON d.id = g.entity_id "
        f"WHERE g.activity_id IN ({_RUNS})")).all()
    if not datasets:
        return
    conn.execute(text("CREATE TEMPORARY TABLE split_activity (did text, run_id text, obs_id text, id text, "
                      "at timestamp, events_path text) ON COMMIT DROP"))
    conn.execute(text("INSERT INTO split_activity VALUES (:did, :run, :obs, :id, :at, :events)"), [
        {"did": did, "run": run, "obs": obs_id, "id": f"{run}/{_q(obs_id)}", "at": at, "events": events}
        for did, run, obs_id, at, events in datasets])
    for statement in (
        "INSERT INTO provenance.activity (id, name, starttime, endtime, activitydescription_id) "
        "SELECT s.id, 'ingest ' || s.obs_id, s.at, s.at, a.activitydescription_id FROM split_activity s "
        "JOIN provenance.activity a ON a.id = s.run_id ON CONFLICT (id) DO NOTHING",
        "INSERT INTO provenance.wasinformedby (informed_id, informant_id) SELECT id, run_id FROM split_activity",
        "INSERT INTO provenance.wasassociatedwith (activity_id, agent_id, role) "
        "SELECT s.id, w.agent_id, w.role FROM split_activity s "
        "JOIN provenance.wasassociatedwith w ON w.activity_id = s.run_id",
        # the dataset's own files: its event file and the files of its products (GTI, IRFs)
        "INSERT INTO provenance.used (activity_id, entity_id, role, time) "
        "SELECT s.id, u.entity_id, u.role, u.time FROM split_activity s "
        "JOIN provenance.used u ON u.activity_id = s.run_id JOIN provenance.entity e ON e.id = u.entity_id "
        "WHERE u.role NOT IN ('hdu-index', 'obs-index') AND e.location IN "
        "(SELECT p.file_path FROM datalink.product p WHERE p.obs_publisher_did = s.did)",
        "UPDATE provenance.wasgeneratedby g SET activity_id = s.id FROM split_activity s WHERE g.entity_id = s.did",
    ):
        conn.execute(text(statement))
    # the index rows that described each dataset, derived from its event file
    index_uses = conn.execute(text(
        "SELECT s.id, s.obs_id, u.role, u.time, e.location, e.checksum, "
        "(SELECT ev.id FROM provenance.entity ev WHERE ev.location = s.events_path "
        " AND ev.id IN (SELECT entity_id FROM provenance.used WHERE activity_id = s.id) LIMIT 1) "
        "FROM split_activity s JOIN provenance.used u ON u.activity_id = s.run_id "
        "JOIN provenance.entity e ON e.id = u.entity_id WHERE u.role IN ('hdu-index', 'obs-index')")).all()
    entities, used, derived = [], [], []
    for activity_id, obs_id, role, at, location, checksum, events_id in index_uses:
        relative = _relative(location, roots)
        row_id = f"{FILE_PREFIX}{relative}?OBS_ID={_q(obs_id)}#{checksum}"
        entities.append({"id": row_id, "name": f"{Path(location).name} rows of OBS_ID {obs_id}",
                         "location": f"{relative}#OBS_ID={_q(obs_id)}"})
        used.append({"a": activity_id, "e": row_id, "role": role, "time": at})
        if events_id is not None:
            derived.append({"g": row_id, "u": events_id})
    if entities:
        conn.execute(text("INSERT INTO provenance.entity (id, name, location, entity_class) "
                          "VALUES (:id, :name, :location, 'Entity') ON CONFLICT (id) DO NOTHING"), entities)
        conn.execute(text("INSERT INTO provenance.used (activity_id, entity_id, role, time) "
                          "VALUES (:a, :e, :role, :time)"), used)
    if derived:
        conn.execute(text("INSERT INTO provenance.wasderivedfrom (generatedentity_id, usedentity_id) "
                          "VALUES (:g, :u)"), derived)
    # the runs use nothing themselves; an index table is no longer derived from every file of its batch
    conn.execute(text(
        "DELETE FROM provenance.wasderivedfrom d WHERE d.activity_id IS NULL AND d.generatedentity_id IN "
        "(SELECT entity_id FROM provenance.used WHERE role IN ('hdu-index', 'obs-index') "
        f"AND activity_id IN ({_RUNS}))"))
    conn.execute(text(f"DELETE FROM provenance.used WHERE activity_id IN ({_RUNS})"))


def _relative_files(conn: Connection, roots: Sequence[str]) -> None:
    """Rename the file entities the ingester wrote and locate them relative to their data roots."""
    files = conn.execute(text("SELECT id, location, checksum FROM provenance.entity WHERE id LIKE 'file://%' "
                              "AND checksum IS NOT NULL AND id = 'file://' || location || '#' || checksum")).all()
    if not files:
        return
    renames = [{"old": old, "new": f"{FILE_PREFIX}{_relative(location, roots)}#{checksum}",
                "location": _relative(location, roots)} for old, location, checksum in files]
    conn.execute(text("CREATE TEMPORARY TABLE renamed_entity (old text PRIMARY KEY, new text, location text) "
                      "ON COMMIT DROP"))
    conn.execute(text("INSERT INTO renamed_entity VALUES (:old, :new, :location)"), renames)
    conn.execute(text(
        "INSERT INTO provenance.entity (id, name, location, generatedattime, invalidatedattime, comment, "
        "entity_class, \"value\", content_type, checksum, entitydescription_id) "
        "SELECT DISTINCT ON (r.new) r.new, e.name, r.location, e.generatedattime, e.invalidatedattime, e.comment, "
        "e.entity_class, e.\"value\", e.content_type, e.checksum, e.entitydescription_id FROM renamed_entity r "
        "JOIN provenance.entity e ON e.id = r.old ORDER BY r.new, r.old ON CONFLICT (id) DO NOTHING"))
    for table, column in ENTITY_REFERENCES:
        conn.execute(text(f'UPDATE provenance."{table}" t SET "{column}" = r.new FROM renamed_entity r '
                          f'WHERE t."{column}" = r.old'))
    conn.execute(text("DELETE FROM provenance.entity WHERE id IN (SELECT old FROM renamed_entity)"))


def _run_paths(conn: Connection, roots: Sequence[str]) -> None:
    """The runs' config files and path parameters, relative to the data roots."""
    for config_id, location in conn.execute(text(
            f"SELECT id, location FROM provenance.configfile WHERE activity_id IN ({_RUNS})")).all():
        if location and os.path.isabs(location):
            conn.execute(text("UPDATE provenance.configfile SET location = :location WHERE id = :id"),
                         {"location": _relative(location, roots), "id": config_id})
    for parameter_id, value in conn.execute(text(
            f"SELECT id, value FROM provenance.parameter WHERE activity_id IN ({_RUNS}) "
            f"AND name IN {PATH_PARAMETERS!r}")).all():
        relative = " ".join(_relative(part, roots) if os.path.isabs(part) else part for part in value.split(" ")
                            if part)
        if relative != value:
            conn.execute(text("UPDATE provenance.parameter SET value = :value WHERE id = :id"),
                         {"value": relative, "id": parameter_id})
