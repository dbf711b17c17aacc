"""From an ADQL selection to a gammapy DataStore: index tables and bundles of real DL3 collections."""

from __future__ import annotations

import io
import subprocess
import tarfile
import tracemalloc
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from astropy import units as u
from astropy.io import fits

from tapserver.datalink.files import DataRoots
from tapserver.datalink.rights import NoGrants
from tapserver.gadf.bundle import TarBundle, members
from tapserver.gadf.service import DataStoreService, StoreFile
from tapserver.gadf.storage import ObservationStore
from tests.gadf.archive import DL3, Archive

# gammapy.data is imported by the tests that read with it: at module level every test process would pay its
# import (about 2 s of CPU) while collecting.

#: collection, ADQL condition, IRF kind gammapy needs
SELECTIONS = [
    ("HESS-DR1", "obs_collection = 'HESS-DR1' AND target_name = 'Crab'", "full-enclosure"),
    ("FACT", "obs_collection = 'FACT' AND t_min < 56600.1", "point-like"),
    ("MAGIC", "obs_collection = 'MAGIC'", "point-like"),
    ("VERITAS", "obs_collection = 'VERITAS'", "point-like"),
    ("CTA-1DC", "obs_collection = 'CTA-1DC'", "full-enclosure"),
]


def query(condition: str) -> str:
    return f"SELECT obs_publisher_did FROM ivoa.obscore WHERE {condition}"


def sources(archive: Archive, condition: str) -> dict[int, tuple[Path, Path]]:
    """OBS_ID -> (event file, first IRF file) of the selection, from the database."""
    rows = archive.rows(
        "SELECT o.obs_id, e.file_path, (SELECT c.file_path FROM datalink.product c WHERE c.obs_publisher_did = "
        "o.obs_publisher_did AND c.semantics = '#calibration' ORDER BY c.sort_order LIMIT 1) "
        "FROM ivoa.obscore o JOIN datalink.product e ON e.obs_publisher_did = o.obs_publisher_did "
        f"AND e.semantics = '#this' WHERE {condition.replace('obs_collection', 'o.obs_collection')}")
    return {int(obs_id): (Path(events), Path(irf)) for obs_id, events, irf in rows}


@pytest.mark.parametrize(("collection", "condition", "irf"), SELECTIONS)
def test_adql_to_gammapy_in_five_lines(store_archive: Archive, tmp_path: Path, collection: str, condition: str,
                                       irf: str) -> None:
    gammapy_data = pytest.importorskip("gammapy.data")
    client, adql = store_archive.client, query(condition)
    # --- the client code (what a user writes), at most 5 lines ---
    bundle = client.get("/gadf/datastore", params={"QUERY": adql}).content
    with tarfile.open(fileobj=io.BytesIO(bundle)) as tar:
        tar.extractall(tmp_path, filter="data")
    observations = gammapy_data.DataStore.from_dir(tmp_path).get_observations(required_irf=irf)
    # --- end of client code ---
    expected = sources(store_archive, condition)
    assert len(expected) >= 2
    assert sorted(int(o.obs_id) for o in observations) == sorted(expected)
    store = gammapy_data.DataStore.from_dir(tmp_path)
    for obs in observations:
        events_file, irf_file = expected[int(obs.obs_id)]
        with fits.open(events_file) as hdul:
            assert len(obs.events.table) == len(hdul["EVENTS"].data)
            livetime = float(hdul["EVENTS"].header["LIVETIME"])
        original = gammapy_data.Observation.read(events_file, irf_file=irf_file)
        assert obs.observation_live_time_duration == original.observation_live_time_duration
        assert obs.aeff is not None and obs.edisp is not None
        if irf == "full-enclosure":
            assert obs.psf is not None
        row = store.obs_table[store.obs_table["OBS_ID"] == int(obs.obs_id)][0]
        assert float(row["LIVETIME"]) == pytest.approx(livetime)


def test_index_tables_with_service_urls(store_archive: Archive) -> None:
    client = store_archive.client
    adql = query("obs_collection = 'FACT' AND t_min < 56600.1")
    hdu = fits.open(io.BytesIO(client.get("/gadf/datastore", params={"QUERY": adql,
                                                                      "RESPONSEFORMAT": "hdu-index"}).content))
    obs = fits.open(io.BytesIO(client.get("/gadf/datastore", params={"QUERY": adql,
                                                                      "RESPONSEFORMAT": "obs-index"}).content))
    assert (hdu[1].header["HDUCLAS1"], hdu[1].header["HDUCLAS2"]) == ("INDEX", "HDU")
    assert (obs[1].header["HDUCLAS1"], obs[1].header["HDUCLAS2"]) == ("INDEX", "OBS")
    assert (obs[1].header["MJDREFI"], obs[1].header["MJDREFF"], obs[1].header["TIMESYS"]) == (51544, 0.5, "TT")
    rows = hdu[1].data
    assert set(rows["OBS_ID"]) == set(obs[1].data["OBS_ID"])
    assert Counter(rows["HDU_TYPE"]) == {t: len(obs[1].data) for t in ("events", "gti", "aeff", "edisp")}
    for row in rows:  # every location resolves to a FITS file holding the named HDU
        served = client.get(row["FILE_NAME"].replace("http://testserver", ""))
        assert served.status_code == 200
        with fits.open(io.BytesIO(served.content)) as hdul:
            assert row["HDU_NAME"] in [h.name for h in hdul]
    # TSTART in seconds of TT since MJD 51544.5 equals ObsCore t_min
    t_min = dict(store_archive.rows(f"SELECT obs_id, t_min FROM ivoa.obscore WHERE {adql.split('WHERE')[1]}"))
    for row in obs[1].data:
        assert row["TSTART"] / 86400 + 51544.5 == pytest.approx(t_min[str(row["OBS_ID"])], abs=1e-9)


def test_ids_by_post_and_each_shared_irf_once(store_archive: Archive, tmp_path: Path) -> None:
    gammapy_data = pytest.importorskip("gammapy.data")
    dids = [did for (did,) in store_archive.rows(
        "SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_collection = 'FACT' ORDER BY obs_id LIMIT 20")]
    response = store_archive.client.post("/gadf/datastore", data={"ID": dids, "RESPONSEFORMAT": "zip"})
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert len(names) == len(set(names)) == 20 + 1 + 2  # the events, fact_irf.fits once, two index tables
    assert sum(name.endswith("fact_irf.fits") for name in names) == 1
    zipfile.ZipFile(io.BytesIO(response.content)).extractall(tmp_path)
    store = gammapy_data.DataStore.from_dir(tmp_path)
    assert len(store.get_observations(required_irf="point-like")) == 20


def _hess_dids(archive: Archive, n: int) -> list[str]:
    return [did for (did,) in archive.rows(
        "SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_collection = 'HESS-DR1' ORDER BY obs_id LIMIT %s", n)]


def test_bundle_of_20_hess_runs(store_archive: Archive, tmp_path: Path) -> None:
    gammapy_data = pytest.importorskip("gammapy.data")
    client, dids = store_archive.client, _hess_dids(store_archive, 20)
    head = client.head("/gadf/datastore", params={"ID": dids})
    response = client.get("/gadf/datastore", params={"ID": dids})
    assert response.status_code == head.status_code == 200
    assert int(head.headers["content-length"]) == int(response.headers["content-length"]) == len(response.content)
    bundle = tmp_path / "bundle.tar"
    bundle.write_bytes(response.content)
    listing = subprocess.run(["tar", "-tf", str(bundle)], capture_output=True, text=True, check=True).stdout.split()
    assert len(listing) == len(set(listing)) == 22
    unpacked = tmp_path / "store"
    unpacked.mkdir()
    subprocess.run(["tar", "-xf", str(bundle), "-C", str(unpacked)], check=True)
    for name in listing:
        if name.startswith("data/"):
            source = DL3 / "gammapy-data-hess-dl3-dr1" / "data" / Path(name).name
            assert (unpacked / name).read_bytes() == source.read_bytes()
    observations = gammapy_data.DataStore.from_dir(unpacked).get_observations()
    assert len(observations) == 20
    assert all(o.bkg is not None for o in observations)
    # resume: a second request with Range and If-Range continues where the first stopped
    cut = len(response.content) // 3
    rest = client.get("/gadf/datastore", params={"ID": dids},
                      headers={"Range": f"bytes={cut}-", "If-Range": response.headers["etag"]})
    assert rest.status_code == 206
    assert response.content[:cut] + rest.content == response.content


def test_bundle_memory_is_flat(store_archive: Archive) -> None:
    """Python allocations while streaming a bundle stay at about one chunk, for 20 runs and for 105."""
    settings = store_archive.settings
    from sqlalchemy import create_engine

    engine = create_engine(settings.admin_url)
    try:
        service = DataStoreService(ObservationStore(engine), DataRoots(settings.data_roots), NoGrants())

        def opener(stored: StoreFile) -> io.BufferedReader:
            return open(stored.real_path, "rb")

        peaks, batch_peaks = {}, {}
        for n in (20, 105):
            tar = TarBundle(members(service.build(_hess_dids(store_archive, n), None, with_files=True)), opener)
            tracemalloc.start()
            sent = sum(len(chunk) for chunk in tar.iter_range(0, tar.length))
            peaks[n] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert sent == tar.length
            tracemalloc.start()  # the batches /gadf/datastore sends
            sent = sum(len(piece) for batch in tar.iter_batches(0, tar.length) for piece in batch)
            batch_peaks[n] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert sent == tar.length
        assert tar.length > 60e6
        for measured in (peaks, batch_peaks):  # a few chunks, flat
            assert measured[105] < 8 * 2**20 and measured[105] < 1.2 * measured[20] + 2**20, measured
    finally:
        engine.dispose()


@pytest.mark.parametrize(("params", "status", "words"), [
    ({"ID": "ivo://nowhere/x?1"}, 404, "not datasets"),
    ({}, 400, "selection is empty"),
    ({"QUERY": "SELECT obs_id FROM ivoa.obscore"}, 400, "must select obs_publisher_did"),
    ({"QUERY": "SELEC nothing"}, 400, ""),
    ({"QUERY": "SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_id = '0'"}, 400, "selection is empty"),
    ({"QUERY": "SELECT obs_publisher_did FROM ivoa.obscore WHERE 1 / (s_ra - s_ra) > 0"}, 400, "division"),
    ({"QUERY": "SELECT obs_publisher_did FROM ivoa.obscore WHERE no_such_column = 1"}, 400, "no_such_column"),
    ({"QUERY": "SELECT obs_publisher_did FROM ivoa.obscore", "ID": "x"}, 400, "not both"),
    ({"QUERY": "SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_id IN ('23523')"}, 400, "twice"),
    ({"QUERY": "SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_id = '23523'", "RESPONSEFORMAT": "rar"},
     400, "RESPONSEFORMAT"),
    ({"QUERY": "SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_id = '23523'", "LANG": "SQL"}, 400, "LANG"),
])
def test_bad_requests(store_archive: Archive, params: dict[str, str], status: int, words: str) -> None:
    response = store_archive.client.get("/gadf/datastore", params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    assert words.lower() in response.text.lower()


def test_restricted_datasets_are_not_bundled(store_archive: Archive) -> None:
    did = store_archive.did("VERITAS", "57993")
    store_archive.rows("UPDATE ivoa.obscore SET data_rights = 'secure' WHERE obs_publisher_did = %s RETURNING 1", did)
    try:
        refused = store_archive.client.get("/gadf/datastore", params={"ID": did})
        assert refused.status_code in (401, 403), refused.text
        # the metadata stays public: the index tables are served, their URLs refuse the files
        index = store_archive.client.get("/gadf/datastore", params={"ID": did, "RESPONSEFORMAT": "hdu-index"})
        assert index.status_code == 200
        url = fits.open(io.BytesIO(index.content))[1].data["FILE_NAME"][0]
        assert store_archive.client.get(url.replace("http://testserver", "")).status_code in (401, 403)
    finally:
        store_archive.rows("UPDATE ivoa.obscore SET data_rights = 'public' WHERE obs_publisher_did = %s "
                           "RETURNING 1", did)


def test_livetime_units(store_archive: Archive) -> None:
    response = store_archive.client.get("/gadf/datastore", params={
        "QUERY": query("obs_collection = 'MAGIC'"), "RESPONSEFORMAT": "obs-index"})
    table = fits.open(io.BytesIO(response.content))[1]
    assert u.Unit(table.columns["LIVETIME"].unit) == u.s
