"""GADF bundles as async jobs: a selection becomes a job of the UWS job store whose result ``bundle`` is the
archive, written to the results store by a job worker.

``POST /gadf/async`` fixes the job when it creates it: the selected datasets, the archive format and the
rights decision, made in the request because the caller's groups are known only there. They are stored
with the job as the object :data:`SELECTION_OBJECT`; clients cannot write an object of that name (their
inline uploads are ``upload-*``), so a job holds one only if this module made it, and the worker runs a job
that holds one as a bundle (any other job is a TAP query). Parameters posted to the job later do not change
its selection.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

from tapserver.datalink.model import DatasetRights
from tapserver.datalink.rights import AccessPolicy
from tapserver.gadf.bundle import TarBundle, iter_zip, members
from tapserver.gadf.model import BUNDLE_MEDIA_TYPES, TAR
from tapserver.gadf.service import DataStore, DataStoreService
from tapserver.uws.control import RunControl
from tapserver.uws.model import ClaimedJob, PhaseAction, ResultInfo
from tapserver.uws.results import ResultsStore, object_key
from tapserver.uws.service import JobService

#: The job's selection (written when the job is created; read by the worker).
SELECTION_OBJECT = "gadf-selection.json"
#: Id of the job's result.
BUNDLE_RESULT = "bundle"
#: ID values kept as job parameters (beyond this many, the parameter DATASETS counts them).
LISTED_IDS = 100


@dataclass(frozen=True)
class BundleSelection:
    """What a bundle job downloads: the datasets, the archive format, and the restricted datasets its owner
    was allowed to read when the job was created."""

    dids: tuple[str, ...]
    archive: str
    granted: tuple[str, ...] = ()

    def to_json(self) -> bytes:
        return json.dumps({"dids": self.dids, "archive": self.archive, "granted": self.granted}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> BundleSelection:
        value = json.loads(data)
        return cls(tuple(value["dids"]), str(value["archive"]), tuple(value.get("granted", ())))


@dataclass(frozen=True)
class RecordedGrants:
    """The access policy of a job's run: the grants decided for its owner when the job was created."""

    owner: str | None
    dids: frozenset[str]
    challenge: str | None = None

    def may_read(self, caller: str | None, dataset: DatasetRights) -> bool:
        return caller is not None and caller == self.owner and dataset.did in self.dids


def job_parameters(store: DataStore, archive: str, size: int, query: str | None,
                   control: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The parameters a bundle job shows: the selection as posted (the IDs while there are few), its size."""
    items = [*control, ("RESPONSEFORMAT", archive), ("DATASETS", str(len(store.dids))), ("BUNDLESIZE", str(size))]
    if query is not None:
        items += [("LANG", "ADQL"), ("QUERY", query)]
    elif len(store.dids) <= LISTED_IDS:
        items += [("ID", did) for did in store.dids]
    return items


def submit(jobs: JobService, selection: BundleSelection, parameters: Sequence[tuple[str, str]], owner: str | None,
           run: bool) -> str:
    """Create the job (PENDING), store its selection, then queue it if ``run``. Returns the job id."""
    job_id = jobs.create(parameters, {}, owner)
    try:
        with jobs.results.create(job_id, SELECTION_OBJECT) as writer:
            writer.write(selection.to_json())
            writer.commit()
    except BaseException:
        jobs.delete(job_id, owner)
        raise
    if run:
        jobs.change_phase(job_id, owner, PhaseAction.RUN.value)
    return job_id


class BundleJobs:
    """Runs bundle jobs in a worker: :meth:`kind_of` is the worker's hook."""

    def __init__(self, results: ResultsStore, datastore: Callable[[AccessPolicy], DataStoreService]) -> None:
        self.results = results
        self.datastore = datastore  # the data-store service under a policy (the factory's)

    def kind_of(self, job: ClaimedJob) -> Callable[[ClaimedJob, RunControl], ResultInfo] | None:
        """The runner of ``job`` if it is a bundle job, else None."""
        try:
            stream = self.results.open(object_key(job.job_id, SELECTION_OBJECT))
        except (FileNotFoundError, ValueError):
            return None
        with stream:
            selection = BundleSelection.from_json(stream.read())
        return partial(self.run, selection)

    def run(self, selection: BundleSelection, job: ClaimedJob, control: RunControl) -> ResultInfo:
        """Write the bundle as the job's result, a chunk at a time (the rights are checked again first)."""
        policy = RecordedGrants(job.owner_id, frozenset(selection.granted))
        service = self.datastore(policy)
        store = service.build(selection.dids, job.owner_id, with_files=True)
        control.check()
        items = members(store)
        opener = service.opener()
        chunks: Iterator[bytes]
        if selection.archive == TAR:
            tar = TarBundle(items, opener)
            chunks = tar.iter_range(0, tar.length)
        else:
            chunks = iter_zip(items, opener)
        with self.results.create(job.job_id, f"{BUNDLE_RESULT}.{selection.archive}") as writer:
            for chunk in chunks:
                control.check()
                writer.write(chunk)
            location = writer.commit()
        return ResultInfo(result_id=BUNDLE_RESULT, location=location, mime_type=BUNDLE_MEDIA_TYPES[selection.archive],
                          size_bytes=writer.size, row_count=None)
