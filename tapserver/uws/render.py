"""UWS 1.1 XML documents: job, job list (streamed), results, parameters.

They are written by :mod:`tapserver.uws.documents` (vo-models' pydantic-xml models), imported on the first
document: building those models costs about a quarter of a second of CPU, which a process that renders no
UWS document (``tapserver worker``, a server that runs no async job) does not pay.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tapserver.uws.model import Job, UwsUrls
    from tapserver.uws.model import JobSummary as JobRow


def render_job(job: Job, urls: UwsUrls) -> bytes:
    """``<uws:job version="1.1">`` with every element the XSD requires, nil where unknown."""
    from tapserver.uws import documents

    return documents.render_job(job, urls)


def render_results(job: Job, urls: UwsUrls) -> bytes:
    from tapserver.uws import documents

    return documents.render_results(job, urls)


def render_parameters(job: Job, urls: UwsUrls) -> bytes:
    from tapserver.uws import documents

    return documents.render_parameters(job, urls)


def render_job_list(jobs: Iterable[JobRow], urls: UwsUrls, batch: int = 500) -> Iterator[bytes]:
    """``<uws:jobs version="1.1">`` in chunks of ``batch`` job references (streamed)."""
    from tapserver.uws import documents

    return documents.render_job_list(jobs, urls, batch)
