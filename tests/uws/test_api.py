"""/tap/async over HTTP (the app in-process, with its lifespan and two embedded job slots)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from astropy.io.votable import parse_single_table
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine, text

from tapserver.app import create_app
from tapserver.auth.tokens import TokenStore
from tapserver.config import Settings
from tapserver.uws.model import parse_instant, utcnow
from tests.uws.conftest import settings_for
from tests.uws.synthetic import CONE, cone_count, positions, votable_bytes

U = "{http://www.ivoa.net/xml/UWS/v1.0}"
CONE_QUERY = ("SELECT obs_id, s_ra, s_dec FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
              f"CIRCLE('ICRS', {CONE[0]}, {CONE[1]}, {CONE[2]}))")
SLOW_QUERY = "SELECT COUNT(*) AS slowcount FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c"


def path(url: str, client: TestClient) -> str:
    return url.removeprefix(str(client.base_url))


def create(client: TestClient, **params: str) -> str:
    response = client.post("/tap/async", data=params, follow_redirects=False)
    assert response.status_code == 303, response.text
    return path(response.headers["location"], client)


def job_doc(client: TestClient, job: str, **query: str) -> etree._Element:
    response = client.get(job, params=query)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    return etree.fromstring(response.content)


def phase_of(doc: etree._Element) -> str:
    return doc.findtext(U + "phase")


def wait_final(client: TestClient, job: str, timeout: float = 30) -> etree._Element:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = job_doc(client, job, WAIT="10")
        if phase_of(doc) in ("COMPLETED", "ERROR", "ABORTED"):
            return doc
    raise AssertionError(f"{job} did not finish")


def test_run_at_creation_wait_and_fetch(client: TestClient) -> None:
    job = create(client, LANG="ADQL", QUERY=CONE_QUERY, PHASE="RUN", RUNID="cone-1")
    doc = wait_final(client, job)
    assert phase_of(doc) == "COMPLETED", etree.tostring(doc)
    assert doc.findtext(U + "runId") == "cone-1"
    results = client.get(job + "/results")
    (ref,) = etree.fromstring(results.content)
    assert ref.get("id") == "result"
    response = client.get(job + "/results/result")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-votable+xml"
    assert int(response.headers["content-length"]) == len(response.content) == int(ref.get("size"))
    table = parse_single_table(io.BytesIO(response.content)).to_table()
    assert len(table) == cone_count() and set(table.colnames) == {"obs_id", "s_ra", "s_dec"}
    for sub, expected in (("phase", "COMPLETED"), ("owner", ""), ("executionduration", "3600")):
        r = client.get(f"{job}/{sub}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert r.text == expected
    destruction = client.get(job + "/destruction").text
    assert destruction.endswith("Z") and destruction == doc.findtext(U + "destruction")
    assert client.get(job + "/quote").text == doc.findtext(U + "quote")
    assert client.get(job + "/error").status_code == 404


def test_pending_job_lifecycle(client: TestClient) -> None:
    job = create(client)  # no parameters at all: checked when the job runs
    assert client.get(job + "/phase").text == "PENDING"
    doc = job_doc(client, job)
    assert doc.get("version") == "1.1" and doc.findtext(U + "jobId") == job.rsplit("/", 1)[1]
    assert client.get(job + "/quote").text == ""
    r = client.post(job + "/parameters", data={"lang": "ADQL", "query": "SELECT TOP 3 obs_id FROM ivoa.obscore",
                                               "runId": "TAPLINT-002"}, follow_redirects=False)
    assert r.status_code == 303 and path(r.headers["location"], client) == job
    doc = job_doc(client, job)
    assert doc.findtext(U + "runId") == "TAPLINT-002"
    assert {p.get("id"): p.text for p in doc.find(U + "parameters")}["QUERY"].startswith("SELECT TOP 3")
    r = client.post(job + "/executionduration", data={"EXECUTIONDURATION": "999999"}, follow_redirects=False)
    assert r.status_code == 303 and client.get(job + "/executionduration").text == "3600"  # clamped
    client.post(job + "/executionduration", data={"EXECUTIONDURATION": "30"})
    assert client.get(job + "/executionduration").text == "30"
    wanted = utcnow().replace(microsecond=0)
    r = client.post(job + "/destruction", data={"DESTRUCTION": wanted.strftime("%Y-%m-%dT%H:%M:%SZ")},
                    follow_redirects=False)
    assert r.status_code == 303 and parse_instant(client.get(job + "/destruction").text) == wanted
    r = client.post(job + "/phase", data={"PHASE": "RUN"}, follow_redirects=False)
    assert r.status_code == 303 and path(r.headers["location"], client) == job
    assert phase_of(job_doc(client, job)) in ("QUEUED", "EXECUTING", "COMPLETED")  # never PENDING after RUN
    assert phase_of(wait_final(client, job)) == "COMPLETED"
    # not PENDING any more: parameters and duration are frozen
    assert client.post(job + "/parameters", data={"QUERY": "x"}).status_code == 403
    assert client.post(job + "/executionduration", data={"EXECUTIONDURATION": "5"}).status_code == 403
    assert client.post(job + "/phase", data={"PHASE": "ABORT"}).status_code == 403
    r = client.post(job + "/phase", data={"PHASE": "RUN"}, follow_redirects=False)  # harmless: left alone
    assert r.status_code == 303 and client.get(job + "/phase").text == "COMPLETED"


def test_bad_query_ends_in_error_with_votable(client: TestClient) -> None:
    job = create(client, LANG="ADQL", QUERY="SELECT nosuchcolumn FROM ivoa.obscore", PHASE="RUN")
    doc = wait_final(client, job)
    assert phase_of(doc) == "ERROR"
    summary = doc.find(U + "errorSummary")
    assert summary.get("type") == "fatal" and "nosuchcolumn" in summary.findtext(U + "message")
    r = client.get(job + "/error")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-votable+xml")
    assert 'name="QUERY_STATUS" value="ERROR"' in r.text and "nosuchcolumn" in r.text
    assert client.get(job + "/results/result").status_code == 404
    job = create(client, LANG="OOBLECK", QUERY="SELECT 1", PHASE="RUN")
    assert "unknown query language" in wait_final(client, job).findtext(f"{U}errorSummary/{U}message")


def test_wait_blocks_until_the_phase_changes(client: TestClient) -> None:
    job = create(client, LANG="ADQL", QUERY=CONE_QUERY)
    started = time.monotonic()
    assert phase_of(job_doc(client, job, WAIT="1")) == "PENDING"  # nothing changes a PENDING job
    assert 0.9 < time.monotonic() - started < 3
    started = time.monotonic()
    assert phase_of(job_doc(client, job, WAIT="30", PHASE="QUEUED")) == "PENDING"  # not in PHASE: at once
    assert time.monotonic() - started < 0.5
    client.post(job + "/phase", data={"PHASE": "RUN"})
    started = time.monotonic()
    doc = wait_final(client, job)
    assert phase_of(doc) == "COMPLETED" and time.monotonic() - started < 5
    started = time.monotonic()
    assert phase_of(job_doc(client, job, WAIT="-1")) == "COMPLETED"  # final: no blocking
    assert time.monotonic() - started < 0.5
    assert client.get(job, params={"WAIT": "soon"}).status_code == 400


def running_statements(engine: Engine, marker: str) -> int:
    """Backends (leaders and parallel workers) running a statement that contains ``marker``."""
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND datname = current_database() "
            "AND pid <> pg_backend_pid() AND query ILIKE :m"), {"m": f"%{marker}%"}).scalar_one())


@pytest.mark.parametrize("action", ["ABORT", "DELETE", "SUSPEND"])
def test_stopping_a_running_job_cancels_its_statement(client: TestClient, uws_admin: Engine, action: str) -> None:
    """A long cross join is running in PostgreSQL; ABORT (or deletion, or SUSPEND) must stop the statement
    itself within 2 s, not only the bookkeeping."""
    job = create(client, LANG="ADQL", QUERY=SLOW_QUERY, PHASE="RUN")
    deadline = time.monotonic() + 10
    while running_statements(uws_admin, "slowcount") == 0:
        assert time.monotonic() < deadline, f"the slow query never started: {client.get(job).text}"
        time.sleep(0.05)
    assert client.get(job + "/phase").text == "EXECUTING"
    time.sleep(0.3)
    if action == "DELETE":
        r = client.delete(job, follow_redirects=False)
    else:
        r = client.post(job + "/phase", data={"PHASE": action}, follow_redirects=False)
    assert r.status_code == 303
    stopped = time.monotonic()
    while running_statements(uws_admin, "slowcount") > 0:
        assert time.monotonic() - stopped < 2.0, "the statement still runs 2 s after the request"
        time.sleep(0.05)
    if action == "DELETE":
        assert client.get(job).status_code == 404
        return
    doc = job_doc(client, job)
    assert phase_of(doc) == ("ABORTED" if action == "ABORT" else "SUSPENDED")
    assert client.get(job + "/results/result").status_code == 404
    if action == "SUSPEND":  # RUN resumes it (from the start); then abort it for good
        client.post(job + "/phase", data={"PHASE": "RUN"})
        assert client.get(job + "/phase").text in ("QUEUED", "EXECUTING")
        client.post(job + "/phase", data={"PHASE": "ABORT"})
        assert client.get(job + "/phase").text == "ABORTED"


def test_delete(client: TestClient) -> None:
    for how in ("post", "delete"):
        job = create(client, LANG="ADQL", QUERY="SELECT TOP 1 obs_id FROM ivoa.obscore", PHASE="RUN")
        wait_final(client, job)
        if how == "post":
            r = client.post(job, data={"ACTION": "DELETE"}, follow_redirects=False)
        else:
            r = client.delete(job, follow_redirects=False)
        assert r.status_code == 303 and path(r.headers["location"], client) == "/tap/async"
        assert client.get(job).status_code == 404
        assert client.get(job + "/phase").status_code == 404
        assert client.get(job + "/results/result").status_code == 404
    job = create(client)
    assert client.post(job, data={"QUERY": "SELECT 1"}).status_code == 400  # DALI: no parameters here
    assert client.get("/tap/async/doesnotexist").status_code == 404
    assert client.delete("/tap/async/doesnotexist").status_code == 404


@pytest.fixture()
def alice(uws_settings: Settings, uws_admin: Engine, clean_jobs: None) -> Iterator[TestClient]:
    """The app with bearer tokens on, as the authenticated user alice."""
    token = TokenStore(uws_admin).create("alice")[1]
    settings = uws_settings.model_copy(update={"auth_tokens": True})
    with TestClient(create_app(settings), base_url=settings.base_url,
                    headers={"Authorization": f"Bearer {token}"}) as test_client:
        yield test_client


def test_job_list(alice: TestClient) -> None:
    jobs = [create(alice) for _ in range(3)]
    alice.post(jobs[0] + "/phase", data={"PHASE": "ABORT"})
    r = alice.get("/tap/async")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    doc = etree.fromstring(r.content)
    assert doc.get("version") == "1.1"
    assert [ref.get("id") for ref in doc] == [j.rsplit("/", 1)[1] for j in reversed(jobs)]
    doc = etree.fromstring(alice.get("/tap/async", params={"PHASE": "ABORTED"}).content)
    assert [ref.get("id") for ref in doc] == [jobs[0].rsplit("/", 1)[1]]
    doc = etree.fromstring(alice.get("/tap/async", params={"last": "1"}).content)
    assert [ref.get("id") for ref in doc] == [jobs[2].rsplit("/", 1)[1]]
    for bad in ({"LAST": "0"}, {"PHASE": "SLEEPING"}, {"AFTER": "tomorrow"}):
        assert alice.get("/tap/async", params=bad).status_code == 400


def test_anonymous_jobs_are_reached_by_their_url_only(client: TestClient, uws_settings: Settings) -> None:
    job = create(client, LANG="ADQL", QUERY="SELECT TOP 1 obs_id FROM ivoa.obscore")
    listed = etree.fromstring(client.get("/tap/async").content)
    assert listed.get("version") == "1.1" and len(listed) == 0  # no anonymous caller sees another's jobs
    assert len(etree.fromstring(client.get("/tap/async", params={"LAST": "5", "PHASE": "PENDING"}).content)) == 0
    stranger = TestClient(client.app, base_url=uws_settings.base_url)  # another client: nothing shared
    assert len(etree.fromstring(stranger.get("/tap/async").content)) == 0
    assert stranger.get(job + "/phase").text == "PENDING"  # the job URL is the capability
    assert client.get(job + "/owner").text == ""


def test_multipart_upload_async(client: TestClient) -> None:
    data = votable_bytes(positions(3), "binary2")
    query = ("SELECT p.id, o.obs_id FROM TAP_UPLOAD.pos AS p JOIN ivoa.obscore AS o ON "
             "1 = CONTAINS(POINT('ICRS', o.s_ra, o.s_dec), CIRCLE('ICRS', p.ra, p.dec, 0.05)) ORDER BY p.id")
    response = client.post("/tap/async", data={"lang": "ADQL", "query": query, "upload": "pos,param:mytable",
                                                "phase": "run"},
                           files={"mytable": ("pos.xml", data, "application/x-votable+xml")}, follow_redirects=False)
    assert response.status_code == 303
    job = path(response.headers["location"], client)
    doc = wait_final(client, job)
    assert phase_of(doc) == "COMPLETED", etree.tostring(doc)
    params = {p.get("id"): p for p in doc.find(U + "parameters")}
    assert params["UPLOAD"].text == "pos,param:mytable"
    assert params["mytable"].get("byReference") == "true"
    stored = client.get(path(params["mytable"].text, client))
    assert stored.status_code == 200 and stored.content == data
    table = parse_single_table(io.BytesIO(client.get(job + "/results/result").content)).to_table()
    assert len(table) >= 3 and set(table["id"]) == {1, 2, 3}


def test_upload_limits(uws_settings: Settings, clean_jobs: None) -> None:
    settings = uws_settings.model_copy(update={"upload_limit_rows": 4, "upload_limit_bytes": 4000})
    with TestClient(create_app(settings), base_url=settings.base_url) as client:
        response = client.post("/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t",
                                                   "UPLOAD": "t,param:t", "PHASE": "RUN"},
                               files={"t": ("t.xml", votable_bytes(positions(5)))}, follow_redirects=False)
        job = path(response.headers["location"], client)
        doc = wait_final(client, job)
        assert phase_of(doc) == "ERROR"
        assert "rows; at most 4 are accepted" in doc.findtext(f"{U}errorSummary/{U}message")
        big = votable_bytes(positions(200))
        assert len(big) > 4000
        response = client.post("/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t",
                                                   "UPLOAD": "t,param:t"}, files={"t": ("t.xml", big)})
        assert response.status_code == 400 and "too large" in response.text
        assert 'value="ERROR"' in response.text


@pytest.fixture()
def loopback_client(uws_settings: Settings, clean_jobs: None) -> Iterator[TestClient]:
    """As ``client``, with URL uploads allowed from loopback (where the test's HTTP server is)."""
    settings = uws_settings.model_copy(update={"upload_url_allow": ["public", "127.0.0.1/32"]})
    with TestClient(create_app(settings), base_url=settings.base_url) as test_client:
        yield test_client


def test_uploads_by_url_and_through_parameters(loopback_client: TestClient,
                                               served_votable: tuple[str, bytes]) -> None:
    """A URL upload fetched by the worker, plus an inline one POSTed to /parameters while PENDING."""
    client = loopback_client
    base, _ = served_votable
    job = create(client, LANG="ADQL", UPLOAD=f"remote,{base}/t.xml",
                 QUERY="SELECT COUNT(*) AS n FROM TAP_UPLOAD.remote AS r JOIN TAP_UPLOAD.local AS l ON r.id = l.id")
    r = client.post(job + "/parameters", data={"UPLOAD": "local,param:loc"},
                    files={"loc": ("l.xml", votable_bytes(positions(2)))}, follow_redirects=False)
    assert r.status_code == 303
    params = {p.get("id"): p.text for p in job_doc(client, job).find(U + "parameters")}
    assert params["loc"].endswith(job + "/parameters/loc")
    client.post(job + "/phase", data={"PHASE": "RUN"})
    doc = wait_final(client, job)
    assert phase_of(doc) == "COMPLETED", etree.tostring(doc)
    table = parse_single_table(io.BytesIO(client.get(job + "/results/result").content)).to_table()
    assert list(table["n"]) == [2]
    job = create(client, LANG="ADQL", UPLOAD=f"remote,{base}/missing.xml", QUERY="SELECT * FROM TAP_UPLOAD.remote",
                 PHASE="RUN")
    assert "HTTP 404" in wait_final(client, job).findtext(f"{U}errorSummary/{U}message")


def test_url_upload_to_loopback_refused_by_default(client: TestClient, served_votable: tuple[str, bytes]) -> None:
    base, _ = served_votable
    job = create(client, LANG="ADQL", UPLOAD=f"remote,{base}/t.xml", QUERY="SELECT * FROM TAP_UPLOAD.remote",
                 PHASE="RUN")
    doc = wait_final(client, job)
    assert phase_of(doc) == "ERROR"
    assert "loopback address 127.0.0.1; not allowed" in doc.findtext(f"{U}errorSummary/{U}message")


SLOW = "SELECT COUNT(*) AS n FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c"  # 8e9 row triples


@pytest.fixture(scope="module")
def sync_limited(uws_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app with a sync time limit of half a second (the cross join burns that much CPU on up to three
    backends before the limit stops it), shared by the format cases: a sync query leaves no job behind. No
    job slots: it must not run the jobs of the tests after these."""
    settings = settings_for(uws_database, tmp_path_factory.mktemp("sync-limited"), workers=0, sync_timeout=0.5)
    with TestClient(create_app(settings), base_url=settings.base_url) as client:
        yield client


@pytest.mark.parametrize("fmt", ["votable", "csv", "parquet"])
def test_sync_time_limit_advises_an_async_job(sync_limited: TestClient, fmt: str) -> None:
    """A sync query stopped by the statement timeout says so and tells the client to go asynchronous."""
    response = sync_limited.post("/tap/sync", data={"LANG": "ADQL", "QUERY": SLOW, "RESPONSEFORMAT": fmt})
    assert response.status_code == 400
    assert 'name="QUERY_STATUS" value="ERROR"' in response.text
    assert "ran longer than the time limit of 0.5 s" in response.text
    assert "submit it as an asynchronous job (/tap/async)" in response.text


def test_async_time_limit_gives_no_advice(client: TestClient) -> None:
    job = create(client, LANG="ADQL", QUERY=SLOW, EXECUTIONDURATION="1", PHASE="RUN")
    doc = wait_final(client, job)
    assert phase_of(doc) == "ERROR"
    message = doc.findtext(f"{U}errorSummary/{U}message") or ""
    assert "time limit" in message and "/tap/async" not in message
