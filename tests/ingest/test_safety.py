"""Safe to re-run, never half-written: checksums, --update, --dry-run, bad files, database failures."""

from __future__ import annotations

import gzip
import shutil
import threading
from pathlib import Path

import psycopg
import pytest
from astropy.io import fits

from ingest import loader
from tests.ingest.conftest import DEMO, DEMO_CONFIG, TABLES, Archive


def _copy(tmp_path: Path, with_indexes: bool = True) -> Path:
    """The demo data (ten FACT runs, their IRF file and index tables) in a directory of the test's own;
    without indexes, the ten event files alone."""
    target = tmp_path / "fact"
    shutil.copytree(DEMO, target)
    if not with_indexes:
        for other in [*target.glob("*index*"), target / "fact_irf.fits"]:
            other.unlink()
    return target


def _events(root: Path) -> list[Path]:
    return sorted(root.glob("*_dl3.fits"))


def _counts(line: str) -> dict[str, int]:
    """The outcome counts of the summary line."""
    counts = line.rsplit(": ", 1)[1]
    return {kind: int(number) for number, kind in (part.split() for part in counts.split(", "))}


def _summary(out: str) -> dict[str, int]:
    return _counts(next(line for line in out.splitlines() if line.startswith("ingest")))


def test_rerun_changes_nothing(tmp_path: Path, archive: Archive) -> None:
    root = _copy(tmp_path)
    first = archive.ingest(root, "--config", DEMO_CONFIG)
    assert first.code == 0 and _summary(first.out)["loaded"] == 10, first.err
    before = archive.snapshot()
    assert before["ivoa.obscore"][0] == 10 and before["datalink.product"][0] == 40
    again = archive.ingest(root, "--config", DEMO_CONFIG, "--update")
    assert again.code == 0 and _summary(again.out) == {
        "loaded": 0, "updated": 0, "unchanged": 10, "refused": 0, "failed": 0, "skipped": 0}
    assert archive.snapshot() == before  # every table: same rows, same content (no new activity either)


@pytest.mark.parametrize("damage", ["truncated", "not FITS", "missing TSTART", "truncated gzip"])
def test_one_bad_file_in_ten(tmp_path: Path, archive: Archive, damage: str) -> None:
    root = _copy(tmp_path, with_indexes=False)
    bad = _events(root)[4]
    if damage == "truncated":
        bad.write_bytes(bad.read_bytes()[:8000])
    elif damage == "not FITS":
        bad.write_text("this is not a FITS file\n" * 100)
    elif damage == "missing TSTART":
        with fits.open(bad, mode="update") as hdulist:
            del hdulist["EVENTS"].header["TSTART"]
    else:
        packed = gzip.compress(bad.read_bytes())
        bad.unlink()
        bad = bad.with_suffix(".fits.gz")
        bad.write_bytes(packed[:len(packed) // 2])
    result = archive.ingest(root, "--collection", "FACT", "--jobs", "2")
    assert result.code == 1
    assert _summary(result.out) == {"loaded": 9, "updated": 0, "unchanged": 0, "refused": 0, "failed": 1,
                                    "skipped": 0}
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(bad) in errors[0] and "Traceback" not in result.err
    if damage == "missing TSTART":
        assert "HDU EVENTS: keyword TSTART: missing" in errors[0]
    # Nothing of the bad file anywhere; the nine others complete.
    assert archive.scalar("SELECT count(*) FROM ivoa.obscore") == 9
    assert archive.scalar("SELECT count(*) FROM datalink.product") == 9 * 2
    for table, column in (("ingest.source_file", "file_path"), ("datalink.product", "file_path"),
                          ("provenance.entity", "location")):
        assert archive.scalar(f"SELECT count(*) FROM {table} WHERE {column} = %s", str(bad)) == 0
    assert archive.scalar("SELECT count(*) FROM provenance.used") == 9


def test_changed_file_is_refused_then_updated(tmp_path: Path, archive: Archive) -> None:
    root = _copy(tmp_path)
    assert archive.ingest(root, "--config", DEMO_CONFIG).code == 0
    changed = _events(root)[2]
    obs_id = str(fits.getval(changed, "OBS_ID", extname="EVENTS"))
    old = archive.scalar("SELECT t_exptime FROM ivoa.obscore WHERE obs_id = %s", obs_id)
    fits.setval(changed, "LIVETIME", value=old - 10.0, extname="EVENTS")
    before = archive.snapshot()

    refused = archive.ingest(root, "--config", DEMO_CONFIG)
    assert refused.code == 1 and _summary(refused.out)["refused"] == 1 and _summary(refused.out)["unchanged"] == 9
    message = next(line for line in refused.err.splitlines() if line.startswith("error:"))
    assert str(changed) in message and "--update" in message and "t_exptime" in message and "checksum" in message
    assert archive.snapshot() == before

    updated = archive.ingest(root, "--config", DEMO_CONFIG, "--update", "--agent", "curator")
    assert updated.code == 0 and _summary(updated.out)["updated"] == 1 and _summary(updated.out)["unchanged"] == 9
    assert archive.scalar("SELECT t_exptime FROM ivoa.obscore WHERE obs_id = %s", obs_id) == pytest.approx(old - 10)
    assert archive.scalar("SELECT count(*) FROM ivoa.obscore") == 10
    # The dataset entity is now generated by the second activity, run by the curator.
    generator = archive.rows(
        "SELECT a.id, w.agent_id FROM provenance.wasgeneratedby g JOIN ivoa.obscore o ON o.obs_publisher_did = "
        "g.entity_id JOIN provenance.activity a ON a.id = g.activity_id JOIN provenance.wasassociatedwith w "
        "ON w.activity_id = a.id WHERE o.obs_id = %s", obs_id)
    assert [r["agent_id"] for r in generator] == ["agent:curator"]
    assert archive.scalar("SELECT count(*) FROM provenance.activity WHERE name = 'ingest'") == 2  # two runs
    new_checksum = archive.scalar("SELECT checksum FROM ingest.source_file WHERE file_path = %s", str(changed))
    assert new_checksum == archive.scalar(
        "SELECT checksum FROM datalink.product WHERE file_path = %s AND semantics = '#this'", str(changed))


def test_config_change_is_an_update(tmp_path: Path, archive: Archive) -> None:
    root = _copy(tmp_path)
    assert archive.ingest(root, "--config", DEMO_CONFIG).code == 0
    config = tmp_path / "fact.toml"
    config.write_text(DEMO_CONFIG.read_text().replace("s_fov = 4.5", "s_fov = 5.0"))
    refused = archive.ingest(root, "--config", config)
    assert refused.code == 1 and _summary(refused.out)["refused"] == 10 and "s_fov: 4.5 -> 5" in refused.err
    updated = archive.ingest(root, "--config", config, "--update")
    assert updated.code == 0 and _summary(updated.out)["updated"] == 10
    assert archive.scalar("SELECT DISTINCT degrees(radius(s_region)) * 2 FROM ivoa.obscore") == pytest.approx(5.0)


def test_dry_run_writes_nothing(tmp_path: Path, archive: Archive) -> None:
    root = _copy(tmp_path)
    result = archive.ingest(root, "--config", DEMO_CONFIG, "--dry-run")
    assert result.code == 0 and _summary(result.out)["loaded"] == 10
    assert "dry run, nothing written" in result.out
    assert sum("would load" in line for line in result.out.splitlines()) == 10
    assert all(archive.scalar(f"SELECT count(*) FROM {table}") == 0 for table in TABLES)


def test_database_failure_leaves_nothing_of_that_file(tmp_path: Path, archive: Archive,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure in the middle of a file's writes rolls back all of that file; the others load."""
    root = _copy(tmp_path)
    victim = _events(root)[3]
    original = loader.Loader._upsert_sources

    def failing(self: loader.Loader, cur: psycopg.Cursor[object], observation: object) -> None:
        original(self, cur, observation)  # type: ignore[arg-type]
        if observation.events.path == str(victim):  # type: ignore[attr-defined]
            cur.execute("SELECT 1 / 0")

    monkeypatch.setattr(loader.Loader, "_upsert_sources", failing)
    result = archive.ingest(root, "--config", DEMO_CONFIG, "--jobs", "1")
    assert result.code == 1 and _summary(result.out)["loaded"] == 9 and _summary(result.out)["failed"] == 1
    assert f"{victim}: the database refused the rows: division by zero" in result.err
    obs_id = str(fits.getval(victim, "OBS_ID", extname="EVENTS"))
    assert archive.scalar("SELECT count(*) FROM ivoa.obscore WHERE obs_id = %s", obs_id) == 0
    assert archive.scalar("SELECT count(*) FROM ingest.source_file WHERE file_path = %s", str(victim)) == 0
    assert archive.scalar("SELECT count(*) FROM provenance.entity WHERE id LIKE %s", f"%{obs_id}") == 0
    assert archive.scalar("SELECT count(*) FROM ivoa.obscore") == 9


def test_concurrent_ingest_of_a_collection_is_refused(tmp_path: Path, archive: Archive) -> None:
    with psycopg.connect(archive.url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtextextended('tapserver-ingest:FACT/open-data', 0))")
        result = archive.ingest(_copy(tmp_path), "--config", DEMO_CONFIG)
    assert result.code == 2 and "another ingest of collection 'FACT/open-data' is running" in result.err
    assert archive.scalar("SELECT count(*) FROM ivoa.obscore") == 0


def test_same_obs_id_from_another_file_is_refused(tmp_path: Path, archive: Archive) -> None:
    """Two files claiming one OBS_ID in one collection: the second needs --update (and says where from)."""
    root = _copy(tmp_path, with_indexes=False)
    assert archive.ingest(root, "--collection", "FACT").code == 0
    twin = tmp_path / "twin.fits"
    shutil.copyfile(_events(root)[0], twin)
    result = archive.ingest(twin, "--collection", "FACT")
    assert result.code == 1 and "file_path" in result.err and str(twin) in result.err


def test_readers_see_whole_observations(tmp_path: Path, archive: Archive) -> None:
    """While an ingest runs, every snapshot a reader takes holds complete observations only."""
    root = _copy(tmp_path)
    seen: list[tuple[int, int, int]] = []
    done = threading.Event()

    def read() -> None:
        with psycopg.connect(archive.url, autocommit=True) as conn:
            while not done.is_set():
                row = conn.execute(
                    "SELECT (SELECT count(*) FROM ivoa.obscore), (SELECT count(*) FROM obsconfig.obsconfig), "
                    "(SELECT count(*) FROM datalink.product)").fetchone()
                assert row is not None
                seen.append(row)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        result = archive.ingest(root, "--config", DEMO_CONFIG, "--jobs", "1")
    finally:
        done.set()
        reader.join()
    assert result.code == 0 and seen
    assert all(obscore == obsconfig and products == 4 * obscore for obscore, obsconfig, products in seen)
    assert archive.scalar("SELECT count(*) FROM datalink.product") == 40
