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
    result = archive.ingest(root, "--config", DEMO_CONFIG, "--agent", "Ada Operator", "--jobs", "1")
    assert result.code == 0, result.err

    [activity] = archive.rows("SELECT * FROM provenance.activity")
    assert activity["name"] == "ingest" and activity["starttime"] <= activity["endtime"]
    assert activity["comment"].startswith("ingest: 10 files") and "10 loaded" in activity["comment"]
    [description] = archive.rows("SELECT * FROM provenance.activitydescription WHERE id = %s",
                                 activity["activitydescription_id"])
    assert (description["name"], description["version"]) == ("tapserver ingest", __version__)
    [association] = archive.rows(
        "SELECT w.role, g.name, g.type FROM provenance.wasassociatedwith w JOIN provenance.agent g "
        "ON g.id = w.agent_id WHERE w.activity_id = %s", activity["id"])
    assert association == {"role": "Operator", "name": "Ada Operator", "type": "Person"}
    parameters = {r["name"]: r["value"] for r in archive.rows(
        "SELECT name, value FROM provenance.parameter WHERE activity_id = %s", activity["id"])}
    assert parameters["collection"] == "FACT/open-data" and parameters["update"] == "false"
    assert parameters["config"] == str(DEMO_CONFIG.resolve()) and parameters["inputs"] == str(root)
    [config] = archive.rows("SELECT name, location FROM provenance.configfile WHERE activity_id = %s",
                            activity["id"])
    assert config == {"name": "fact.toml", "location": str(DEMO_CONFIG.resolve())}

    # used: every file read, as an entity with its path and checksum
    used = archive.rows(
        "SELECT u.role, e.location, e.checksum, e.entity_class FROM provenance.used u "
        "JOIN provenance.entity e ON e.id = u.entity_id WHERE u.activity_id = %s", activity["id"])
    files = {Path(r["location"]).name: r for r in used}
    expected = {p.name for p in root.glob("*_dl3.fits")} | {"fact_irf.fits", "hdu-index.fits.gz",
                                                             "obs-index.fits.gz"}
    assert set(files) == expected
    for name, row in files.items():
        assert row["checksum"] == "sha256:" + hashlib.sha256((root / name).read_bytes()).hexdigest()
    roles = {r["role"] for r in used}
    assert roles == {"events", "irf", "hdu-index", "obs-index"}
    assert sum(r["role"] == "events" for r in used) == 10

    # generated: each ObsCore dataset, whose entity id is its publisher DID
    generated = archive.rows(
        "SELECT o.obs_publisher_did, e.entity_class, e.location, o.access_url FROM ivoa.obscore o "
        "JOIN provenance.wasgeneratedby g ON g.entity_id = o.obs_publisher_did "
        "JOIN provenance.entity e ON e.id = o.obs_publisher_did WHERE g.activity_id = %s", activity["id"])
    assert len(generated) == 10
    assert all(r["entity_class"] == "DatasetEntity" and r["location"] == r["access_url"] for r in generated)

    # derivations: index tables from the event files, datasets from their files
    index_from_events = archive.rows(
        "SELECT gen.location AS index, src.location AS events FROM provenance.wasderivedfrom d "
        "JOIN provenance.entity gen ON gen.id = d.generatedentity_id "
        "JOIN provenance.entity src ON src.id = d.usedentity_id WHERE gen.location LIKE '%%index%%'")
    pairs = {(Path(r["index"]).name, Path(r["events"]).name) for r in index_from_events}
    assert pairs == {(index, p.name) for index in ("hdu-index.fits.gz", "obs-index.fits.gz")
                     for p in root.glob("*_dl3.fits")}
    # each dataset's event file is among what the activity that generated the dataset used
    lineage = archive.rows(
        "SELECT p.file_path, bool_or(e.location = p.file_path) AS used FROM datalink.product p "
        "JOIN provenance.wasgeneratedby g ON g.entity_id = p.obs_publisher_did "
        "JOIN provenance.used u ON u.activity_id = g.activity_id JOIN provenance.entity e ON e.id = u.entity_id "
        "WHERE p.semantics = '#this' GROUP BY p.file_path")
    assert len(lineage) == 10 and all(r["used"] for r in lineage)
    assert archive.scalar("SELECT count(*) FROM provenance.wasderivedfrom") == 2 * 10


def test_default_agent_is_the_os_user(tmp_path: Path, archive: Archive) -> None:
    root = tmp_path / "fact"
    shutil.copytree(DEMO, root)
    assert archive.ingest(root, "--config", DEMO_CONFIG).code == 0
    assert archive.scalar("SELECT name FROM provenance.agent") == getpass.getuser()
