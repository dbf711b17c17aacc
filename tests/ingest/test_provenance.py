"""What an ingest run records in the provenance tables."""

from __future__ import annotations

import getpass
import hashlib
import shutil
from pathlib import Path

from tapserver import __version__
from tests.ingest.conftest import DEMO, DEMO_CONFIG, Archive


def test_ingest_activity(tmp_path: Path, archive: Archive) -> None:
    root = tmp_path / "fact"
    shutil.copytree(DEMO, root)
    archive.settings = archive.settings.model_copy(update={"data_roots": [tmp_path]})
    result = archive.ingest(root, "--config", DEMO_CONFIG, "--agent", "Ada Operator", "--jobs", "1")
    assert result.code == 0, result.err

    # the run: its operator, parameters and config file; it uses nothing itself
    [run] = archive.rows("SELECT * FROM provenance.activity WHERE name = 'ingest'")
    assert run["starttime"] <= run["endtime"]
    assert run["comment"].startswith("ingest: 10 files") and "10 loaded" in run["comment"]
    [description] = archive.rows("SELECT * FROM provenance.activitydescription WHERE id = %s",
                                 run["activitydescription_id"])
    assert (description["name"], description["version"]) == ("tapserver ingest", __version__)
    [association] = archive.rows(
        "SELECT w.role, g.name, g.type FROM provenance.wasassociatedwith w JOIN provenance.agent g "
        "ON g.id = w.agent_id WHERE w.activity_id = %s", run["id"])
    assert association == {"role": "Operator", "name": "Ada Operator", "type": "Person"}
    parameters = {r["name"]: r["value"] for r in archive.rows(
        "SELECT name, value FROM provenance.parameter WHERE activity_id = %s", run["id"])}
    assert parameters["collection"] == "FACT/open-data" and parameters["update"] == "false"
    # paths as the data root sees them, or the bare name outside every root: never the server's disk
    assert parameters["config"] == "fact.toml" and parameters["inputs"] == "fact"
    [config] = archive.rows("SELECT name, location FROM provenance.configfile WHERE activity_id = %s", run["id"])
    assert config == {"name": "fact.toml", "location": "fact.toml"}
    assert archive.scalar("SELECT count(*) FROM provenance.used WHERE activity_id = %s", run["id"]) == 0

    # one activity per dataset, informed by the run, generated the dataset and used exactly its inputs
    generated = archive.rows(
        "SELECT o.obs_id, o.obs_publisher_did, a.id AS activity, e.entity_class, e.location, o.access_url "
        "FROM ivoa.obscore o JOIN provenance.wasgeneratedby g ON g.entity_id = o.obs_publisher_did "
        "JOIN provenance.activity a ON a.id = g.activity_id JOIN provenance.entity e ON e.id = o.obs_publisher_did")
    assert len(generated) == 10 and len({r["activity"] for r in generated}) == 10
    assert all(r["entity_class"] == "DatasetEntity" and r["location"] == r["access_url"] for r in generated)
    for dataset in generated:
        assert archive.rows("SELECT informant_id FROM provenance.wasinformedby WHERE informed_id = %s",
                            dataset["activity"]) == [{"informant_id": run["id"]}]
        used = archive.rows(
            "SELECT u.role, e.id, e.location, e.checksum, e.entity_class FROM provenance.used u "
            "JOIN provenance.entity e ON e.id = u.entity_id WHERE u.activity_id = %s", dataset["activity"])
        events = archive.scalar("SELECT file_path FROM datalink.product WHERE obs_publisher_did = %s "
                                "AND semantics = '#this'", dataset["obs_publisher_did"])
        by_role = {r["role"]: r for r in used}
        assert sorted(r["role"] for r in used) == ["events", "hdu-index", "irf", "obs-index"]
        assert by_role["events"]["location"] == f"fact/{Path(events).name}"
        assert by_role["events"]["checksum"] == "sha256:" + hashlib.sha256(Path(events).read_bytes()).hexdigest()
        assert by_role["irf"]["location"] == "fact/fact_irf.fits"
        for index in ("hdu-index", "obs-index"):  # the rows of the index that describe this observation
            row = by_role[index]
            assert row["location"] == f"fact/{index}.fits.gz#OBS_ID={dataset['obs_id']}"
            assert row["entity_class"] == "Entity"
            assert archive.rows("SELECT usedentity_id FROM provenance.wasderivedfrom WHERE generatedentity_id = %s",
                                row["id"]) == [{"usedentity_id": by_role["events"]["id"]}]
    assert archive.scalar("SELECT count(*) FROM provenance.wasderivedfrom") == 2 * 10
    # no server path anywhere in the provenance tables
    assert archive.scalar(
        "SELECT count(*) FROM provenance.entity WHERE id LIKE %s OR location LIKE %s",
        f"%{tmp_path}%", f"%{tmp_path}%") == 0


def test_default_agent_is_the_os_user(tmp_path: Path, archive: Archive) -> None:
    root = tmp_path / "fact"
    shutil.copytree(DEMO, root)
    assert archive.ingest(root, "--config", DEMO_CONFIG).code == 0
    assert archive.scalar("SELECT name FROM provenance.agent") == getpass.getuser()
