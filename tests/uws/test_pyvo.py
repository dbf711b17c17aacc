"""pyvo against a real `tapserver serve` (2 embedded job slots): run_async, submit/wait/fetch, delete, upload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import pyvo
from astropy.table import Table as AstropyTable

from tests.uws.procs import processes
from tests.uws.synthetic import CONE, cone_count

pytestmark = pytest.mark.e2e

CONE_QUERY = ("SELECT obs_id, s_ra, s_dec FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
              f"CIRCLE('ICRS', {CONE[0]}, {CONE[1]}, {CONE[2]}))")
MATCH_QUERY = ("SELECT p.name, o.obs_id FROM TAP_UPLOAD.targets AS p JOIN ivoa.obscore AS o ON "
               "1 = CONTAINS(POINT('ICRS', o.s_ra, o.s_dec), CIRCLE('ICRS', p.ra, p.dec, 0.05)) ORDER BY o.obs_id")


@pytest.fixture(scope="module")
def service(uws_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[pyvo.dal.TAPService]:
    tmp = tmp_path_factory.mktemp("pyvo")
    with processes(uws_database, tmp / "data", tmp) as procs:
        base, _ = procs.server(workers=2)
        yield pyvo.dal.TAPService(f"{base}/tap")


def targets() -> AstropyTable:
    """Two positions on the synthetic grid (one match each within 0.05 deg) and one far from everything."""
    return AstropyTable({"name": ["on-grid-1", "on-grid-2", "nowhere"], "ra": [83.6, 83.7, 10.0],
                         "dec": [22.0, 22.1, -80.0]})


def test_run_async(service: pyvo.dal.TAPService) -> None:
    result = service.run_async(CONE_QUERY)
    table = result.to_table()
    assert len(table) == cone_count()
    assert set(table["obs_id"]) >= {"obs-501"}  # (83.6, 22.0) is row 501 of the grid


def test_submit_wait_fetch_delete(service: pyvo.dal.TAPService) -> None:
    job = service.submit_job(CONE_QUERY, maxrec=10)
    assert job.phase == "PENDING"
    job.run()
    job.wait(timeout=60)
    assert job.phase == "COMPLETED"
    result = job.fetch_result()
    assert len(result) == 10  # MAXREC applies to async jobs too
    url = job.url
    job.delete()
    with pytest.raises(pyvo.dal.DALServiceError):
        pyvo.dal.AsyncTAPJob(url)
    assert url.rsplit("/", 1)[1] not in [j.jobid for j in service.get_job_list()]


def test_failed_job_raises(service: pyvo.dal.TAPService) -> None:
    with pytest.raises(pyvo.dal.DALQueryError, match="nosuchtable"):
        service.run_async("SELECT * FROM ivoa.nosuchtable")


def test_upload_async(service: pyvo.dal.TAPService, tmp_path: Path) -> None:
    result = service.run_async(MATCH_QUERY, uploads={"targets": targets()}).to_table()
    assert [(r["name"], r["obs_id"]) for r in result] == [("on-grid-1", "obs-501"), ("on-grid-2", "obs-542")]


def test_upload_sync(service: pyvo.dal.TAPService) -> None:
    result = service.run_sync(MATCH_QUERY, uploads={"targets": targets()}).to_table()
    assert [(r["name"], r["obs_id"]) for r in result] == [("on-grid-1", "obs-501"), ("on-grid-2", "obs-542")]
    assert np.all(result["obs_id"] != "")
