"""UWS 1.1 XML documents: job, job list (streamed), results, parameters, written by vo-models (imported by
:mod:`tapserver.uws.render` when a document is first rendered: the models are built as the module loads).

vo-models' pydantic-xml models (the ones Rubin's safir.uws renders) give the elements, their order
(UWS-v1.1.xsd), namespaces and escaping. What is ours:

* Timestamps are written by :func:`format_instant` (milliseconds only when there are any), as every other
  UWS resource (``/destruction``, ...) gives them: vo-models' ``UTCTimestamp`` always writes milliseconds,
  so the models below declare those elements as text.
* Documents are serialised with ``exclude_unset``: an element or attribute appears when it is set here. This
  writes ``xsi:nil`` for the nillable elements the XSD requires (ownerId, startTime, ...) while leaving out
  the optional ones (runId, errorSummary, byReference="false", xlink:type); pydantic-xml's ``skip_empty``
  would drop both kinds, and without either option an unknown runId would be an empty element.
* The job list is streamed: each batch of job references is rendered as a ``uws:jobs`` document by
  vo-models, and its children are sent between the list's own start and end tags.
* Characters XML 1.0 cannot carry are removed from the text first (lxml refuses them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime

from pydantic_xml import BaseXmlModel, element
from vo_models.uws import ErrorSummary, Jobs, JobSummary, Parameter, ResultReference, Results, ShortJobDescription
from vo_models.uws.models import NSMAP
from vo_models.uws.types import ErrorType, ExecutionPhase, UWSVersion

from tapserver.uws.model import Job, UwsUrls, format_instant
from tapserver.uws.model import JobSummary as JobRow

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(value: str) -> str:
    """Text with the characters XML 1.0 cannot carry removed."""
    return _NOT_XML.sub("", value)


def _instant(value: datetime | None) -> str | None:
    return format_instant(value) or None


class JobParameters(BaseXmlModel, tag="parameters", ns="uws", nsmap=NSMAP):
    """``uws:parameters`` of a TAP job: any names, in the order given (vo-models' ``Parameters`` wants one
    model field per parameter name)."""

    parameter: list[Parameter] = element(tag="parameter", default_factory=list)


class JobDocument(JobSummary[JobParameters], tag="job"):
    """``uws:job``, its timestamps as :func:`format_instant` writes them."""

    quote: str | None = element(tag="quote", default=None, nillable=True)  # type: ignore[assignment]
    creation_time: str | None = element(tag="creationTime", default=None)  # type: ignore[assignment]
    start_time: str | None = element(tag="startTime", default=None, nillable=True)  # type: ignore[assignment]
    end_time: str | None = element(tag="endTime", default=None, nillable=True)  # type: ignore[assignment]
    destruction: str | None = element(tag="destruction", default=None, nillable=True)  # type: ignore[assignment]


class JobReference(ShortJobDescription, tag="jobref"):
    """``uws:jobref``, its creation time as :func:`format_instant` writes it."""

    creation_time: str | None = element(tag="creationTime", default=None)  # type: ignore[assignment]


class JobList(Jobs, tag="jobs"):
    """``uws:jobs`` of :class:`JobReference` (pydantic serialises a field by its declared type)."""

    jobref: list[JobReference] | None = element(name="jobref", default_factory=list)  # type: ignore[assignment]


def _document(model: BaseXmlModel, *, declaration: bool = True) -> bytes:
    """The model as XML: the elements and attributes set on it (and on the models it holds)."""
    return model.to_xml(exclude_unset=True, encoding="UTF-8", xml_declaration=declaration)  # type: ignore[return-value]


def _parameters(job: Job, urls: UwsUrls) -> JobParameters:
    parameters = [Parameter(id=_xml(name), value=_xml(value)) for name, value in job.parameters.items()]
    parameters += [Parameter(id=_xml(upload.name), value=_xml(urls.parameter(job.job_id, upload.name)),
                             by_reference=True) for upload in job.uploads]
    return JobParameters(parameter=parameters)


def _result(job: Job, urls: UwsUrls, result_id: str, size: int | None, mime_type: str | None) -> ResultReference:
    attributes: dict[str, object] = {"id": _xml(result_id), "href": _xml(urls.result(job.job_id, result_id))}
    if size is not None:
        attributes["size"] = size
    if mime_type:
        attributes["mime_type"] = _xml(mime_type)
    return ResultReference(**attributes)  # type: ignore[arg-type]


def _results(job: Job, urls: UwsUrls) -> Results:
    # the store orders `result` first (pyvo #147)
    return Results(results=[_result(job, urls, r.result_id, r.size_bytes, r.mime_type) for r in job.results])


def render_job(job: Job, urls: UwsUrls) -> bytes:
    """``<uws:job version="1.1">`` with every element the XSD requires, nil where unknown."""
    fields: dict[str, object] = {"job_id": job.job_id}
    if job.run_id is not None:
        fields["run_id"] = _xml(job.run_id)
    fields.update(
        owner_id=_xml(job.owner_id) if job.owner_id else None,
        phase=ExecutionPhase(job.phase.value),
        quote=_instant(job.quote),
        creation_time=format_instant(job.creation_time),
        start_time=_instant(job.start_time),
        end_time=_instant(job.end_time),
        execution_duration=job.execution_duration,
        destruction=_instant(job.destruction_time),
        parameters=_parameters(job, urls),
        results=_results(job, urls),
        version=UWSVersion.V1_1,
    )
    if job.error_message is not None:
        fields["error_summary"] = ErrorSummary(
            message=_xml(job.error_message), has_detail=True,
            type=ErrorType(job.error_type.value) if job.error_type else ErrorType.FATAL)
    return _document(JobDocument(**fields))  # type: ignore[arg-type]


def render_results(job: Job, urls: UwsUrls) -> bytes:
    return _document(_results(job, urls))


def render_parameters(job: Job, urls: UwsUrls) -> bytes:
    return _document(_parameters(job, urls))


def _jobref(job: JobRow, urls: UwsUrls) -> JobReference:
    fields: dict[str, object] = {"job_id": job.job_id, "href": urls.job(job.job_id),
                                 "phase": ExecutionPhase(job.phase.value)}
    if job.run_id is not None:
        fields["run_id"] = _xml(job.run_id)
    fields.update(owner_id=_xml(job.owner_id) if job.owner_id else None,
                  creation_time=format_instant(job.creation_time))
    return JobReference(**fields)  # type: ignore[arg-type]


def _references(jobs: list[JobReference]) -> bytes:
    """The ``uws:jobref`` elements of a job list rendered by vo-models, without the list's own tags (no
    value in its start tag holds a '>': namespace URIs and the version)."""
    document = _document(JobList(jobref=jobs), declaration=False)
    return document[document.index(b">") + 1:document.rindex(b"</")]


def render_job_list(jobs: Iterable[JobRow], urls: UwsUrls, batch: int = 500) -> Iterator[bytes]:
    """``<uws:jobs version="1.1">`` in chunks of ``batch`` job references (streamed)."""
    empty = _document(JobList(version=UWSVersion.V1_1))  # <?xml ...?><uws:jobs xmlns:... version="1.1"/>
    yield empty.removesuffix(b"/>") + b">\n"
    chunk: list[JobReference] = []
    for job in jobs:
        chunk.append(_jobref(job, urls))
        if len(chunk) >= batch:
            yield _references(chunk)
            chunk = []
    if chunk:
        yield _references(chunk)
    yield b"</uws:jobs>\n"
