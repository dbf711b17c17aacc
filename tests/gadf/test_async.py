"""GADF bundles as async jobs: created by POST /gadf/async, run by the job workers, the result `bundle`
unpacked into a gammapy DataStore; rights decided for the job's owner; DALI errors; the sync size limit."""

from __future__ import annotations

import io
import re
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import text
from starlette.testclient import TestClient

from tapserver.app import create_app
from tapserver.auth.tokens import TokenStore
from tapserver.db import make_engines
from tests.gadf.archive import BASE_URL, Archive
from tests.gadf.test_datastore import query, sources

# gammapy.data is imported by the tests that read with it: at module level every test process would pay its
# import (about 2 s of CPU) while collecting.

FACT = "obs_collection = 'FACT' AND t_min < 56600.1"
FINAL = {"COMPLETED", "ERROR", "ABORTED"}
V = "{http://www.ivoa.net/xml/VOTable/v1.3}"


def finished(client: TestClient, job_url: str, headers: dict[str, str] | None = None) -> str:
    """The job's phase once it is final (the archive's app runs two job slots)."""
    deadline = time.monotonic() + 120
    while (phase := client.get(f"{job_url}/phase", headers=headers).text) not in FINAL:
        assert time.monotonic() < deadline, f"job {job_url} still {phase}"
        time.sleep(0.1)
    return phase


def jobs(archive: Archive) -> int:
    return int(archive.rows("SELECT count(*) FROM uws.job")[0][0])


def unpack(data: bytes, archive_format: str, target: Path) -> None:
    if archive_format == "zip":
        zipfile.ZipFile(io.BytesIO(data)).extractall(target)
    else:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(target, filter="data")


def _fact_ids(archive: Archive, n: int) -> list[str]:
    return [did for (did,) in archive.rows(
        "SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_collection = 'FACT' ORDER BY obs_id LIMIT %s", n)]


@pytest.mark.parametrize(("selection", "archive_format"), [("query", "tar"), ("query", "zip"), ("ids", "tar")])
def test_bundle_job_gives_a_data_store(store_archive: Archive, tmp_path: Path, selection: str,
                                       archive_format: str) -> None:
    gammapy_data = pytest.importorskip("gammapy.data")
    client = store_archive.client
    if selection == "query":
        params: dict[str, str | list[str]] = {"QUERY": query(FACT)}
        expected = set(sources(store_archive, FACT))
    else:
        dids = _fact_ids(store_archive, 5)
        params = {"ID": dids}
        expected = {int(obs_id) for (obs_id,) in store_archive.rows(
            "SELECT obs_id FROM ivoa.obscore WHERE obs_publisher_did = ANY(%s)", dids)}
    created = client.post("/gadf/async", data={**params, "RESPONSEFORMAT": archive_format, "PHASE": "RUN"},
                          follow_redirects=False)
    assert created.status_code == 303, created.text
    job_url = created.headers["location"]
    assert re.fullmatch(rf"{BASE_URL}/tap/async/\w+", job_url)
    estimate = int(created.headers["x-estimated-content-length"])
    assert finished(client, job_url) == "COMPLETED", client.get(f"{job_url}/error").text
    listing = client.get(f"{job_url}/results").text
    size = int(re.search(r'id="bundle"[^>]* size="(\d+)"', listing).group(1))  # type: ignore[union-attr]
    parameters = client.get(f"{job_url}/parameters").text
    assert f">{len(expected)}<" in parameters and f">{estimate}<" in parameters  # DATASETS, BUNDLESIZE
    result = client.get(f"{job_url}/results/bundle")
    assert result.status_code == 200
    media_type = {"tar": "application/x-tar", "zip": "application/zip"}[archive_format]
    assert result.headers["content-type"] == media_type
    assert int(result.headers["content-length"]) == len(result.content) == size
    if archive_format == "tar":  # the same bytes as the sync bundle, whose size the job announced exactly
        assert size == estimate
        assert result.content == client.post("/gadf/datastore", data=params).content
    else:
        assert abs(size - estimate) < 0.01 * size
    assert result.headers["accept-ranges"] == "bytes"
    for start, end in ((size // 3, None), (0, 0), (size - 1, size + 10), (size // 2, size // 2 + 999)):
        spec = f"bytes={start}-" + ("" if end is None else str(end))
        part = client.get(f"{job_url}/results/bundle", headers={"Range": spec})  # a broken download resumed
        assert part.status_code == 206 and part.content == result.content[start:None if end is None else end + 1]
        last = min(size, size if end is None else end + 1) - 1
        assert part.headers["content-range"] == f"bytes {start}-{last}/{size}"
    refused = client.get(f"{job_url}/results/bundle", headers={"Range": f"bytes={size}-"})
    assert refused.status_code == 416 and refused.headers["content-range"] == f"bytes */{size}"
    unpack(result.content, archive_format, tmp_path)
    observations = gammapy_data.DataStore.from_dir(tmp_path).get_observations(required_irf="point-like")
    assert {int(o.obs_id) for o in observations} == expected
    assert all(len(o.events.table) > 0 and o.aeff is not None for o in observations)


@pytest.mark.parametrize(("params", "status", "words"), [
    ({"ID": "ivo://nowhere/x?1"}, 404, "not datasets"),
    ({}, 400, "selection is empty"),
    ({"QUERY": "SELEC nothing"}, 400, ""),
    ({"QUERY": "SELECT obs_id FROM ivoa.obscore"}, 400, "must select obs_publisher_did"),
    ({"QUERY": "SELECT obs_publisher_did FROM ivoa.obscore", "ID": "x"}, 400, "not both"),
    ({"QUERY": query(FACT), "RESPONSEFORMAT": "hdu-index"}, 400, "RESPONSEFORMAT"),
    ({"QUERY": query(FACT), "RESPONSEFORMAT": "rar"}, 400, "RESPONSEFORMAT"),
    ({"QUERY": query(FACT), "PHASE": "ABORT"}, 400, "PHASE=RUN"),
    ({"QUERY": query(FACT), "RUNID": "x" * 65}, 400, "RUNID"),
    ({"QUERY": query(FACT), "EXECUTIONDURATION": "soon"}, 400, "EXECUTIONDURATION"),
    ({"QUERY": query(FACT), "DESTRUCTION": "never"}, 400, "DESTRUCTION"),
])
def test_bad_job_requests(store_archive: Archive, params: dict[str, str], status: int, words: str) -> None:
    before = jobs(store_archive)
    response = store_archive.client.post("/gadf/async", data=params, follow_redirects=False)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    assert words.lower() in response.text.lower()
    assert jobs(store_archive) == before  # no job left behind


def test_job_result_of_unknown_or_unfinished_jobs(store_archive: Archive) -> None:
    client = store_archive.client
    assert client.get("/tap/async/nosuchjob0000000/results/bundle").status_code == 404
    created = client.post("/gadf/async", data={"ID": _fact_ids(store_archive, 1)}, follow_redirects=False)
    job_url = created.headers["location"]
    assert client.get(f"{job_url}/phase").text == "PENDING"
    assert client.get(f"{job_url}/results/bundle").status_code == 404
    # parameters posted to a pending job do not change the selection fixed at creation
    client.post(f"{job_url}/parameters", data={"ID": "ivo://nowhere/x?1"})
    client.post(f"{job_url}/phase", data={"PHASE": "RUN"})
    assert finished(client, job_url) == "COMPLETED"
    with tarfile.open(fileobj=io.BytesIO(client.get(f"{job_url}/results/bundle").content)) as tar:
        assert sum(name.startswith("data/") for name in tar.getnames()) == 2  # the events and the IRF file


@pytest.fixture()
def guarded(store_archive: Archive) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    """An app with tokens on the archive (same job store and results), a VERITAS run made proprietary for
    the group crab-team; yields the client, the tokens (member, other) and the run's DID."""
    settings = store_archive.settings.model_copy(update={
        "auth_tokens": True, "proprietary_groups": {"collection:VERITAS": ["crab-team"]}, "workers": 0})
    engines = make_engines(settings)
    store = TokenStore(engines.admin)
    tokens = {"member": store.create("alice", ["crab-team"])[1], "other": store.create("bob", [])[1]}
    did = store_archive.did("VERITAS", "57993")
    store_archive.rows("UPDATE ivoa.obscore SET data_rights = 'proprietary', obs_release_date = NULL "
                       "WHERE obs_publisher_did = %s RETURNING 1", did)
    try:
        with TestClient(create_app(settings), base_url=BASE_URL) as client:
            yield client, tokens, did
    finally:
        store_archive.rows("UPDATE ivoa.obscore SET data_rights = 'public' WHERE obs_publisher_did = %s "
                           "RETURNING 1", did)
        with engines.admin.begin() as conn:
            conn.execute(text("DELETE FROM auth.token WHERE user_id IN ('alice', 'bob')"))
        engines.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_proprietary_bundles_only_for_allowed_owners(guarded: tuple[TestClient, dict[str, str], str],
                                                     store_archive: Archive) -> None:
    client, tokens, did = guarded
    anonymous = client.post("/gadf/async", data={"ID": did, "PHASE": "RUN"}, follow_redirects=False)
    assert anonymous.status_code == 401 and "Bearer" in anonymous.headers["www-authenticate"]
    other = client.post("/gadf/async", data={"ID": did, "PHASE": "RUN"}, headers=bearer(tokens["other"]),
                        follow_redirects=False)
    assert other.status_code == 403, other.text
    created = client.post("/gadf/async", data={"ID": did, "PHASE": "RUN"}, headers=bearer(tokens["member"]),
                          follow_redirects=False)
    assert created.status_code == 303, created.text
    job_url = created.headers["location"]
    assert finished(client, job_url, bearer(tokens["member"])) == "COMPLETED"
    assert client.get(f"{job_url}/results/bundle", headers=bearer(tokens["other"])).status_code == 403
    assert client.get(f"{job_url}/results/bundle").status_code == 403
    bundle = client.get(f"{job_url}/results/bundle", headers=bearer(tokens["member"]))
    with tarfile.open(fileobj=io.BytesIO(bundle.content)) as tar:
        assert any(name.startswith("data/") for name in tar.getnames())


def test_rights_are_checked_again_when_the_job_runs(guarded: tuple[TestClient, dict[str, str], str],
                                                    store_archive: Archive) -> None:
    """A dataset restricted after the job was created is not bundled, even for its owner."""
    client, tokens, _ = guarded
    public = store_archive.did("VERITAS", "54809")
    created = client.post("/gadf/async", data={"ID": public}, headers=bearer(tokens["member"]),
                          follow_redirects=False)
    assert created.status_code == 303, created.text
    job_url = created.headers["location"]
    store_archive.rows("UPDATE ivoa.obscore SET data_rights = 'secure' WHERE obs_publisher_did = %s RETURNING 1",
                       public)
    try:
        client.post(f"{job_url}/phase", data={"PHASE": "RUN"}, headers=bearer(tokens["member"]))
        assert finished(client, job_url, bearer(tokens["member"])) == "ERROR"
        assert "not public" in client.get(f"{job_url}/error", headers=bearer(tokens["member"])).text
    finally:
        store_archive.rows("UPDATE ivoa.obscore SET data_rights = 'public' WHERE obs_publisher_did = %s "
                           "RETURNING 1", public)


def test_large_sync_bundles_point_to_async(store_archive: Archive) -> None:
    params = {"QUERY": query(FACT)}
    head = store_archive.client.head("/gadf/datastore", params=params)
    length = int(head.headers["content-length"])
    settings = store_archive.settings.model_copy(update={"gadf_sync_limit_bytes": length // 2, "workers": 0})
    with TestClient(create_app(settings), base_url=BASE_URL) as client:
        for method in ("GET", "HEAD"):
            for archive_format in ("tar", "zip"):
                refused = client.request(method, "/gadf/datastore", params={**params,
                                                                           "RESPONSEFORMAT": archive_format})
                assert refused.status_code == 413, refused.text
                estimate = int(refused.headers["x-estimated-content-length"])
                assert estimate == length if archive_format == "tar" else estimate > length // 2
                if method == "GET":
                    assert "/gadf/async" in refused.text
        # the index tables are not bundles: no limit
        assert client.get("/gadf/datastore", params={**params, "RESPONSEFORMAT": "obs-index"}).status_code == 200
    assert store_archive.client.get("/gadf/datastore", params=params).status_code == 200


def test_links_advertise_the_async_bundle(store_archive: Archive) -> None:
    did = _fact_ids(store_archive, 1)[0]
    document = store_archive.client.get("/datalink/links", params={"ID": did}).content
    root = etree.fromstring(document)
    [resource] = [r for r in root.iter(f"{V}RESOURCE") if r.get("name") == "gadf-async"]
    params = {p.get("name"): p.get("value") for p in resource.iter(f"{V}PARAM")}
    assert params["accessURL"] == f"{BASE_URL}/gadf/async"
    assert set(params) >= {"ID", "RESPONSEFORMAT", "PHASE"}
    page = store_archive.client.get("/").text
    assert "/gadf/async" in page
