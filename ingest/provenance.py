"""The provenance an ingest run records (IVOA ProvenanceDM, provenance.md §6), as rows per table.

Two levels of activity, so that the history of one dataset is that dataset's, not the batch's:

* the run (``ingest:<uuid>``): the invocation of ``tapserver ingest``, associated with its operator, carrying
  the run's parameters and config file. It uses nothing itself;
* one activity per observation (``ingest:<uuid>/<obs_id>``), which *wasInformedBy* the run: it *used* exactly
  the files this observation was read from (its event file, its GTI/IRF files) and the rows of the index
  tables that described it, and *generated* the ObsCore dataset entity (id = obs_publisher_did).

An index row entity *wasDerivedFrom* the event file it describes (the index table was made from the files).
No server path appears in any record: file entities are located by their path relative to the data root that
holds them (``TAPSERVER_DATA_ROOTS``; the file name alone for a file outside every root), and path-valued
parameters likewise. The rows are written by :mod:`ingest.loader`.
"""

from __future__ import annotations

import getpass
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ingest.records import Observation
from tapserver import __version__

SOFTWARE = "tapserver ingest"
#: Prefix of the ids of file entities: ``urn:tapserver:file:<path relative to its data root>#sha256:<hex>``.
FILE_PREFIX = "urn:tapserver:file:"
#: Roles of index tables: the observation's rows of them are what it used.
INDEX_ROLES = frozenset({"hdu-index", "obs-index"})
#: Parameters whose values are (space-separated) paths.
PATH_PARAMETERS = frozenset({"inputs", "config"})
Rows = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Run:
    """One invocation of the ingester."""

    activity_id: str
    started: datetime  # naive UTC, as the provenance tables store times
    agent: str
    parameters: Mapping[str, str]
    config_file: Path | None = None
    version: str = __version__
    data_roots: tuple[str, ...] = ()

    @property
    def agent_id(self) -> str:
        return f"agent:{self.agent}"

    @property
    def description_id(self) -> str:
        return f"{SOFTWARE}/{self.version}"

    def location(self, path: str | Path) -> str:
        """Where a file is, as provenance records say it: relative to its data root (no server path)."""
        return relative_location(path, self.data_roots)

    def observation_activity_id(self, obs_id: str) -> str:
        return f"{self.activity_id}/{quote(obs_id, safe='-._~')}"


def new_run(agent: str | None, parameters: Mapping[str, str], config_file: Path | None,
            data_roots: Sequence[str | Path] = ()) -> Run:
    """A run started now by ``agent`` (default: the OS user)."""
    return Run(activity_id=f"ingest:{uuid.uuid4()}", started=utc_now(), agent=agent or operator(),
               parameters=dict(parameters), config_file=config_file,
               data_roots=tuple(os.path.realpath(os.fspath(root)) for root in data_roots))


def relative_location(path: str | Path, roots: Sequence[str]) -> str:
    """``path`` relative to the innermost of ``roots`` that holds it (``.`` for a root itself), else its name."""
    real = os.path.realpath(os.fspath(path))
    holders = [root for root in roots if real == root or real.startswith(root.rstrip(os.sep) + os.sep)]
    if not holders:
        return os.path.basename(real.rstrip(os.sep)) or "."
    return os.path.relpath(real, max(holders, key=len)).replace(os.sep, "/")


def file_entity_id(location: str, checksum: str) -> str:
    """Provenance id of a file: one entity per location and content (a changed file is a new entity)."""
    return f"{FILE_PREFIX}{location}#{checksum}"


def operator() -> str:
    """The OS user running the ingester."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def activity_rows(run: Run) -> Rows:
    """The run's activity, its description, agent, association, parameters and config file."""
    rows: Rows = {
        "activitydescription": [{
            "id": run.description_id, "name": SOFTWARE, "version": run.version, "type": None,
            "subtype": "ingest", "docurl": None,
            "description": "Loads DL3 FITS headers into ObsCore, ObsConfig, DataLink and provenance tables"}],
        "agent": [{"id": run.agent_id, "name": run.agent, "type": "Person"}],
        "activity": [{"id": run.activity_id, "name": "ingest", "starttime": run.started, "endtime": None,
                      "comment": None, "activitydescription_id": run.description_id}],
        "wasassociatedwith": [{"activity_id": run.activity_id, "agent_id": run.agent_id, "role": "Operator"}],
        "parameter": [{"activity_id": run.activity_id, "name": name, "value": _parameter_value(run, name, value)}
                      for name, value in run.parameters.items()],
        "configfile": [],
    }
    if run.config_file is not None:
        rows["configfile"].append({"activity_id": run.activity_id, "name": run.config_file.name,
                                   "location": run.location(run.config_file)})
    return rows


def _parameter_value(run: Run, name: str, value: str) -> str:
    if name not in PATH_PARAMETERS:
        return value
    return " ".join(run.location(part) if os.path.isabs(part) else part for part in value.split(" ") if part)


def observation_rows(run: Run, observation: Observation, when: datetime) -> Rows:
    """The activity that made one dataset, what it used, the dataset entity and the index rows."""
    obs_id = observation.key[1]
    did = observation.did
    activity_id = run.observation_activity_id(obs_id)
    events = observation.events
    events_id = file_entity_id(run.location(events.path), events.checksum)
    dataset = {"id": did, "name": f"{observation.key[0]} {obs_id}",
               "location": observation.obscore["access_url"], "generatedattime": when,
               "entity_class": "DatasetEntity", "content_type": observation.obscore["access_format"],
               "checksum": None}
    files, rows_of_indexes, used, derived = [], [], [], []
    for source in observation.sources:
        location = run.location(source.path)
        entity_id = file_entity_id(location, source.checksum)
        if source.role in INDEX_ROLES:
            # the rows that describe this observation, not the whole table (which describes every file)
            entity_id = f"{FILE_PREFIX}{location}?OBS_ID={quote(obs_id, safe='-._~')}#{source.checksum}"
            rows_of_indexes.append({
                "id": entity_id, "name": f"{Path(source.path).name} rows of OBS_ID {obs_id}",
                "location": f"{location}#OBS_ID={quote(obs_id, safe='-._~')}", "generatedattime": None,
                "entity_class": "Entity", "content_type": None, "checksum": None})
            derived.append({"generatedentity_id": entity_id, "usedentity_id": events_id, "activity_id": None})
        else:
            files.append({"id": entity_id, "name": Path(source.path).name, "location": location,
                          "generatedattime": None, "entity_class": "DatasetEntity",
                          "content_type": source.content_type, "checksum": source.checksum})
        used.append({"activity_id": activity_id, "entity_id": entity_id, "role": source.role, "time": when})
    return {
        "activity": [{"id": activity_id, "name": f"ingest {obs_id}", "starttime": when, "endtime": when,
                      "comment": None, "activitydescription_id": run.description_id}],
        "wasinformedby": [{"informed_id": activity_id, "informant_id": run.activity_id}],
        "wasassociatedwith": [{"activity_id": activity_id, "agent_id": run.agent_id, "role": "Operator"}],
        "file_entity": files + rows_of_indexes,
        "dataset_entity": [dataset],
        "used": used,
        "wasgeneratedby": [{"entity_id": did, "activity_id": activity_id, "role": "obscore"}],
        "wasderivedfrom": derived,
    }
