"""UWS documents: valid against UWS-v1.1.xsd (from the taplint jar), with every element in XSD order."""

from __future__ import annotations

import glob
import zipfile
from datetime import UTC, datetime

import pytest
from lxml import etree

from tapserver.uws.model import ErrorType, InlineUpload, Job, JobParameters, JobSummary, Phase, ResultInfo, UwsUrls
from tapserver.uws.render import render_job, render_job_list, render_parameters, render_results

pytestmark = pytest.mark.nodb

U = "{http://www.ivoa.net/xml/UWS/v1.0}"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
URLS = UwsUrls("https://example.org/tap/async")


class _JarResolver(etree.Resolver):
    """Serves the xlink schema that UWS-v1.1.xsd imports from the same jar (no network)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__()
        self.files = files

    def resolve(self, url: str, pubid: str | None, context: object) -> object:
        name = url.rsplit("/", 1)[-1]
        if name in self.files:
            return self.resolve_string(self.files[name], context)
        return None


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    """UWS-v1.1.xsd as shipped inside STILTS (taplint validates with it)."""
    base = "uk/ac/starlink/ttools/taplint/"
    for jar in sorted(glob.glob("/usr/share/java/starlink-ttools*.jar")):
        with zipfile.ZipFile(jar) as archive:
            try:
                files = {name: archive.read(base + name)
                         for name in ("UWS-v1.1.xsd", "xlink.xsd", "xmlnamespace.xsd")}
            except KeyError:
                continue
        files["xml.xsd"] = files["xmlnamespace.xsd"]
        uws = files["UWS-v1.1.xsd"]
        parser = etree.XMLParser()
        parser.resolvers.add(_JarResolver(files))
        return etree.XMLSchema(etree.fromstring(uws, parser, base_url="jar:UWS-v1.1.xsd"))
    pytest.skip("STILTS (starlink-ttools jar with UWS-v1.1.xsd) is not installed")


def make_job(**changes: object) -> Job:
    params = JobParameters()
    params.update([("LANG", "ADQL"), ("QUERY", "SELECT * FROM t WHERE a < 1 & b > 2"),
                   ("UPLOAD", "t1,param:t1")])
    base = dict(
        job_id="abc123", phase=Phase.PENDING, owner_id=None, run_id=None,
        creation_time=datetime(2024, 1, 1, tzinfo=UTC), start_time=None, end_time=None,
        destruction_time=datetime(2024, 1, 8, tzinfo=UTC), execution_duration=600, quote=None,
        error_message=None, error_type=None, parameters=params,
    )
    base.update(changes)  # type: ignore[arg-type]
    return Job(**base)  # type: ignore[arg-type]


def children(element: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in element]


def test_pending_job_is_valid_and_complete(schema: etree.XMLSchema) -> None:
    job = make_job(uploads=(InlineUpload("t1", "jobs/abc123/upload-t1", 10),))
    doc = etree.fromstring(render_job(job, URLS))
    schema.assertValid(doc)
    assert doc.get("version") == "1.1"
    assert children(doc) == ["jobId", "ownerId", "phase", "quote", "creationTime", "startTime", "endTime",
                             "executionDuration", "destruction", "parameters", "results"]
    for nil in ("ownerId", "quote", "startTime", "endTime"):
        assert doc.find(U + nil).get(XSI_NIL) == "true"
    assert doc.find(U + "creationTime").text == "2024-01-01T00:00:00Z"
    params = {p.get("id"): p for p in doc.find(U + "parameters")}
    assert params["QUERY"].text == "SELECT * FROM t WHERE a < 1 & b > 2"
    assert params["t1"].get("byReference") == "true"
    assert params["t1"].text == "https://example.org/tap/async/abc123/parameters/t1"


def test_completed_and_failed_jobs_are_valid(schema: etree.XMLSchema) -> None:
    result = ResultInfo("result", "jobs/abc123/result.vot", "application/x-votable+xml", 1234, 5)
    done = make_job(phase=Phase.COMPLETED, run_id="my-run", owner_id="alice",
                    start_time=datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC),
                    end_time=datetime(2024, 1, 1, 0, 0, 2, 500000, tzinfo=UTC), results=(result,))
    doc = etree.fromstring(render_job(done, URLS))
    schema.assertValid(doc)
    assert children(doc)[:3] == ["jobId", "runId", "ownerId"]
    assert doc.find(U + "ownerId").text == "alice"
    assert doc.find(U + "endTime").text == "2024-01-01T00:00:02.500Z"
    (ref,) = doc.find(U + "results")
    assert ref.get("id") == "result" and ref.get("size") == "1234"
    assert ref.get(XLINK_HREF) == "https://example.org/tap/async/abc123/results/result"
    results_doc = etree.fromstring(render_results(done, URLS))
    schema.assertValid(results_doc)

    failed = make_job(phase=Phase.ERROR, error_message="bad \x01 thing <here>", error_type=ErrorType.FATAL)
    doc = etree.fromstring(render_job(failed, URLS))
    schema.assertValid(doc)
    summary = doc.find(U + "errorSummary")
    assert summary.get("type") == "fatal" and summary.get("hasDetail") == "true"
    assert summary.find(U + "message").text == "bad  thing <here>"


def test_parameters_document_is_valid(schema: etree.XMLSchema) -> None:
    doc = etree.fromstring(render_parameters(make_job(), URLS))
    schema.assertValid(doc)
    assert [p.get("id") for p in doc] == ["LANG", "QUERY", "UPLOAD"]


def test_job_list_streams_in_chunks_and_is_valid(schema: etree.XMLSchema) -> None:
    jobs = [JobSummary(f"job{i}", Phase.COMPLETED if i % 2 else Phase.QUEUED, f"run{i}" if i % 3 else None,
                       None, datetime(2024, 1, 1, tzinfo=UTC)) for i in range(1201)]
    chunks = list(render_job_list(iter(jobs), URLS, batch=500))
    assert len(chunks) == 1 + 3 + 1  # head, 500 + 500 + 201 refs, tail
    doc = etree.fromstring(b"".join(chunks))
    schema.assertValid(doc)
    assert doc.get("version") == "1.1"
    refs = list(doc)
    assert len(refs) == 1201
    assert refs[1].get(XLINK_HREF) == "https://example.org/tap/async/job1"
    assert children(refs[1]) == ["phase", "runId", "ownerId", "creationTime"]
    assert children(refs[0]) == ["phase", "ownerId", "creationTime"]


def test_empty_job_list_is_valid(schema: etree.XMLSchema) -> None:
    doc = etree.fromstring(b"".join(render_job_list([], URLS)))
    schema.assertValid(doc)
    assert len(doc) == 0
