"""Finding the files: directories, globs, duplicates, and index tables told apart by their columns."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.discover import discover
from tests.ingest.conftest import DEMO, DL3, requires_dl3

pytestmark = pytest.mark.nodb


def _copy_demo(tmp_path: Path) -> Path:
    target = tmp_path / "fact"
    shutil.copytree(DEMO, target)
    return target


def test_directory_with_indexes(tmp_path: Path) -> None:
    root = _copy_demo(tmp_path)
    found = discover([str(root)])
    assert not found.failures and not found.warnings
    assert [t.path.name for t in found.tasks] == sorted(p.name for p in root.glob("*_dl3.fits"))
    kinds = {p.name: t.kind for p, t in found.indexes.items()}
    assert kinds == {"hdu-index.fits.gz": "hdu-index", "obs-index.fits.gz": "obs-index"}
    first = found.tasks[0]
    assert first.listed_in == ((root.resolve() / "hdu-index.fits.gz", "20131103103"),)
    assert first.obs_indexes == (root.resolve() / "obs-index.fits.gz",)
    # fact_irf.fits is listed only as an IRF holder: it is not an observation of its own.
    assert all(t.path.name != "fact_irf.fits" for t in found.tasks)


def test_index_type_comes_from_columns_not_names(tmp_path: Path) -> None:
    """Names lie (dl3-formats.md §8.15): swap the index file names and give the events misleading names."""
    root = _copy_demo(tmp_path)
    (root / "hdu-index.fits.gz").rename(root / "tmp.fits.gz")
    (root / "obs-index.fits.gz").rename(root / "hdu-index.fits.gz")
    (root / "tmp.fits.gz").rename(root / "obs-index.fits.gz")
    found = discover([str(root)])
    kinds = {p.name: t.kind for p, t in found.indexes.items()}
    assert kinds == {"hdu-index.fits.gz": "obs-index", "obs-index.fits.gz": "hdu-index"}
    assert len(found.tasks) == 10 and all(t.listed_in for t in found.tasks)


def test_index_only_input_brings_its_event_files(tmp_path: Path) -> None:
    root = _copy_demo(tmp_path)
    found = discover([str(root / "hdu-index.fits.gz")])
    assert len(found.tasks) == 10 and not found.failures


def test_globs_files_and_duplicates(tmp_path: Path) -> None:
    root = _copy_demo(tmp_path)
    found = discover([str(root / "20131103_10*.fits"), str(root / "20131103_103_dl3.fits"), str(root / "*_11?_*")])
    names = [t.path.name for t in found.tasks]
    assert names == sorted(set(names)) and len(names) == 10  # no duplicates, sorted
    assert all(not t.listed_in for t in found.tasks)  # no index among the inputs: bare event files


def test_missing_inputs_are_failures(tmp_path: Path) -> None:
    found = discover([str(tmp_path / "nothing.fits"), str(tmp_path / "*.fits.gz")])
    assert [f.reason for f in found.failures] == ["no such file or directory", "the pattern matches no file"]
    assert not found.tasks


def test_non_fits_file_is_a_failure_and_others_go_on(tmp_path: Path) -> None:
    root = _copy_demo(tmp_path)
    (root / "notes.fits").write_text("not FITS\n" * 400)
    found = discover([str(root)])
    assert len(found.failures) == 1 and found.failures[0].path.endswith("notes.fits")
    assert len(found.tasks) == 10


@requires_dl3
def test_lying_and_minimal_indexes() -> None:
    # magic-rad_max: the HDU index says EXTNAME='OBS_INDEX', HDUCLAS2='OBS'.
    found = discover([str(DL3 / "gammapy-data-magic-rad_max")])
    kinds = sorted((p.name, t.kind) for p, t in found.indexes.items())
    assert kinds == [("hdu-index.fits.gz", "hdu-index"), ("obs-index.fits.gz", "obs-index")]
    assert len(found.tasks) == 2 and all(t.listed_in for t in found.tasks)
    # minimal_datastore: no EXTNAME at all.
    found = discover([str(DL3 / "gammapy-data-tests-minimal_datastore")])
    assert {t.kind for t in found.indexes.values()} == {"hdu-index", "obs-index"} and len(found.tasks) == 2


@requires_dl3
def test_upward_file_dir_and_shared_irf() -> None:
    """CTA 1DC: FILE_DIR '../../data/baseline/gps'; the IRF file is shared and not ingested on its own."""
    found = discover([str(DL3 / "gammapy-data-cta-1dc")])
    assert sorted(t.path.name for t in found.tasks) == [f"gps_baseline_{n}.fits" for n in (110380, 111140, 111159,
                                                                                           111630)]
    assert all(t.listed_in and t.obs_indexes for t in found.tasks)


@requires_dl3
def test_missing_listed_file_is_a_warning() -> None:
    found = discover([str(DL3 / "gammapy-data-joint-crab-dl3-magic")])
    assert [t.path.name for t in found.tasks] == ["run_05029748_DL3.fits"]
    assert len(found.warnings) == 1 and "OBS_ID 5029747" in found.warnings[0] and not found.failures
