"""The provenance an ingest run records (IVOA ProvenanceDM, provenance.md §6), as rows per table.

One ``ingest`` activity per run that changed something: it is associated with the operator, carries the run's
parameters and config file, *used* every source file entity (path + checksum) and *generated* the ObsCore dataset
entity (id = obs_publisher_did). wasDerivedFrom links each index table to the event files it describes. The rows
are written by :mod:`ingest.loader`.
"""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.records import Observation
from tapserver import __version__

SOFTWARE = "tapserver ingest"
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

    @property
    def agent_id(self) -> str:
        return f"agent:{self.agent}"

    @property
    def description_id(self) -> str:
        return f"{SOFTWARE}/{self.version}"


def new_run(agent: str | None, parameters: Mapping[str, str], config_file: Path | None) -> Run:
    """A run started now by ``agent`` (default: the OS user)."""
    return Run(activity_id=f"ingest:{uuid.uuid4()}", started=utc_now(), agent=agent or operator(),
               parameters=dict(parameters), config_file=config_file)


def operator() -> str:
    """The OS user running the ingester."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def activity_rows(run: Run) -> Rows:
    """The activity itself, its description, agent, association, parameters and config file."""
    rows: Rows = {
        "activitydescription": [{
            "id": run.description_id, "name": SOFTWARE, "version": run.version, "type": None,
            "subtype": "ingest", "docurl": None,
            "description": "Loads DL3 FITS headers into ObsCore, ObsConfig, DataLink and provenance tables"}],
        "agent": [{"id": run.agent_id, "name": run.agent, "type": "Person"}],
        "activity": [{"id": run.activity_id, "name": "ingest", "starttime": run.started, "endtime": None,
                      "comment": None, "activitydescription_id": run.description_id}],
        "wasassociatedwith": [{"activity_id": run.activity_id, "agent_id": run.agent_id, "role": "Operator"}],
        "parameter": [{"activity_id": run.activity_id, "name": name, "value": value}
                      for name, value in run.parameters.items()],
        "configfile": [],
    }
    if run.config_file is not None:
        rows["configfile"].append({"activity_id": run.activity_id, "name": run.config_file.name,
                                   "location": str(run.config_file)})
    return rows


def observation_rows(run: Run, observation: Observation, when: datetime) -> Rows:
    """Entities and relations for one ingested observation."""
    by_path = {source.path: source for source in observation.sources}
    did = observation.did
    dataset = {"id": did, "name": f"{observation.key[0]} {observation.key[1]}",
               "location": observation.obscore["access_url"], "generatedattime": when,
               "entity_class": "DatasetEntity", "content_type": observation.obscore["access_format"],
               "checksum": None}
    files = [{"id": s.entity_id, "name": Path(s.path).name, "location": s.path, "generatedattime": None,
              "entity_class": "DatasetEntity", "content_type": s.content_type, "checksum": s.checksum}
             for s in observation.sources]
    # The dataset's lineage is activity-based (used + wasGeneratedBy); wasDerivedFrom records what no activity
    # of ours did: each index table was made from the event files it describes.
    derived = [{"generatedentity_id": by_path[index].entity_id, "usedentity_id": by_path[progenitor].entity_id,
                "activity_id": None}
               for index, progenitor in observation.derivations if index in by_path and progenitor in by_path]
    rows: Rows = {
        "file_entity": files,
        "dataset_entity": [dataset],
        "used": [{"activity_id": run.activity_id, "entity_id": s.entity_id, "role": s.role, "time": when}
                 for s in observation.sources],
        "wasgeneratedby": [{"entity_id": did, "activity_id": run.activity_id, "role": "obscore"}],
        "wasderivedfrom": derived,
    }
    return rows
