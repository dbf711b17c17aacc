"""UWS 1.1 XML documents: job, job list (streamed), results, parameters (UWS-v1.1.xsd element order)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape, quoteattr

from tapserver.uws.model import Job, JobSummary, format_instant

UWS_NS = "http://www.ivoa.net/xml/UWS/v1.0"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
UWS_VERSION = "1.1"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_NAMESPACES = f'xmlns:uws="{UWS_NS}" xmlns:xlink="{XLINK_NS}" xmlns:xsi="{XSI_NS}"'
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_PLAIN = re.compile(r"[A-Za-z0-9 _.:+/=-]*\Z")  # needs no escaping in text or a quoted attribute


def _text(value: str) -> str:
    """Element content: escaped, with characters XML 1.0 cannot carry removed."""
    if _PLAIN.match(value):
        return value
    return escape(_NOT_XML.sub("", value))


def _attr(value: str) -> str:
    if _PLAIN.match(value):
        return f'"{value}"'
    return quoteattr(_NOT_XML.sub("", value))


def _element(name: str, value: str | None, *, nillable: bool = True) -> str:
    if value is None or (nillable and value == ""):
        return f'<uws:{name} xsi:nil="true"/>'
    return f"<uws:{name}>{_text(value)}</uws:{name}>"


class UwsUrls:
    """The public URLs of the job resources."""

    def __init__(self, jobs_url: str) -> None:
        self.jobs = jobs_url.rstrip("/")

    def job(self, job_id: str) -> str:
        return f"{self.jobs}/{job_id}"

    def result(self, job_id: str, result_id: str) -> str:
        return f"{self.jobs}/{job_id}/results/{result_id}"

    def parameter(self, job_id: str, name: str) -> str:
        return f"{self.jobs}/{job_id}/parameters/{name}"


def _parameters(job: Job, urls: UwsUrls) -> str:
    parts = ["<uws:parameters>"]
    for name, value in job.parameters.items():
        parts.append(f"<uws:parameter id={_attr(name)}>{_text(value)}</uws:parameter>")
    for upload in job.uploads:
        href = urls.parameter(job.job_id, upload.name)
        parts.append(f'<uws:parameter id={_attr(upload.name)} byReference="true">{_text(href)}</uws:parameter>')
    parts.append("</uws:parameters>")
    return "".join(parts)


def _results(job: Job, urls: UwsUrls) -> str:
    if not job.results:
        return "<uws:results/>"
    parts = ["<uws:results>"]
    for result in job.results:  # the store orders `result` first (pyvo #147)
        attrs = f"id={_attr(result.result_id)} xlink:href={_attr(urls.result(job.job_id, result.result_id))}"
        if result.size_bytes is not None:
            attrs += f' size="{result.size_bytes}"'
        if result.mime_type:
            attrs += f" mime-type={_attr(result.mime_type)}"
        parts.append(f"<uws:result {attrs}/>")
    parts.append("</uws:results>")
    return "".join(parts)


def render_job(job: Job, urls: UwsUrls) -> bytes:
    """``<uws:job version="1.1">`` with every element the XSD requires, nil where unknown."""
    parts = [
        XML_DECLARATION,
        f'<uws:job {_NAMESPACES} version="{UWS_VERSION}">',
        _element("jobId", job.job_id, nillable=False),
    ]
    if job.run_id is not None:
        parts.append(_element("runId", job.run_id, nillable=False))
    parts += [
        _element("ownerId", job.owner_id),
        _element("phase", job.phase.value, nillable=False),
        _element("quote", format_instant(job.quote)),
        _element("creationTime", format_instant(job.creation_time), nillable=False),
        _element("startTime", format_instant(job.start_time)),
        _element("endTime", format_instant(job.end_time)),
        _element("executionDuration", str(job.execution_duration), nillable=False),
        _element("destruction", format_instant(job.destruction_time)),
        _parameters(job, urls),
        _results(job, urls),
    ]
    if job.error_message is not None:
        error_type = job.error_type.value if job.error_type else "fatal"
        parts.append(
            f'<uws:errorSummary type="{error_type}" hasDetail="true">'
            f"<uws:message>{_text(job.error_message)}</uws:message></uws:errorSummary>"
        )
    parts.append("</uws:job>\n")
    return "".join(parts).encode()


def render_results(job: Job, urls: UwsUrls) -> bytes:
    return (XML_DECLARATION + _results(job, urls).replace("<uws:results", f"<uws:results {_NAMESPACES}", 1)
            + "\n").encode()


def render_parameters(job: Job, urls: UwsUrls) -> bytes:
    return (XML_DECLARATION
            + _parameters(job, urls).replace("<uws:parameters", f"<uws:parameters {_NAMESPACES}", 1)
            + "\n").encode()


def _jobref(job: JobSummary, urls: UwsUrls) -> str:
    parts = [f"<uws:jobref id={_attr(job.job_id)} xlink:href={_attr(urls.job(job.job_id))}>",
             _element("phase", job.phase.value, nillable=False)]
    if job.run_id is not None:
        parts.append(_element("runId", job.run_id, nillable=False))
    parts.append(_element("ownerId", job.owner_id))
    parts.append(_element("creationTime", format_instant(job.creation_time), nillable=False))
    parts.append("</uws:jobref>\n")
    return "".join(parts)


def render_job_list(jobs: Iterable[JobSummary], urls: UwsUrls, batch: int = 500) -> Iterator[bytes]:
    """``<uws:jobs version="1.1">`` in chunks of ``batch`` job references (streamed)."""
    yield f'{XML_DECLARATION}<uws:jobs {_NAMESPACES} version="{UWS_VERSION}">\n'.encode()
    chunk: list[str] = []
    for job in jobs:
        chunk.append(_jobref(job, urls))
        if len(chunk) >= batch:
            yield "".join(chunk).encode()
            chunk = []
    if chunk:
        yield "".join(chunk).encode()
    yield b"</uws:jobs>\n"
