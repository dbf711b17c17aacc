"""One ingest run: discover the files, extract them in parallel processes, load them one transaction each."""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from itertools import islice

from ingest.config import CollectionConfig
from ingest.discover import Task, discover
from ingest.errors import IngestError
from ingest.extract import Context, Result, Skipped, extract, extract_batch, install
from ingest.loader import Loader
from ingest.mapping import Target, normalise_authority
from ingest.progress import KINDS, Reporter
from ingest.provenance import new_run
from ingest.records import Observation
from tapserver.config import Settings
from tapserver.errors import SetupError

# Below this many files, forking workers costs more than it saves.
PARALLEL_THRESHOLD = 8
PREFETCH_CHUNK = 16  # results whose stored state is fetched in one query; small, so loading starts early
BATCH = 8  # files per round trip to a worker
IN_FLIGHT = 4  # batches queued per worker


@dataclass(frozen=True)
class Options:
    """What the operator asked for."""

    inputs: tuple[str, ...]
    config: CollectionConfig
    update: bool = False
    dry_run: bool = False
    agent: str | None = None
    jobs: int = 1


@dataclass
class Summary:
    """Counts per outcome (see progress.KINDS) and the time taken."""

    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def files(self) -> int:
        return sum(self.counts.values())

    @property
    def exit_code(self) -> int:
        """0 if every file is in the archive as it should be, 1 if some failed or were refused."""
        return 1 if self.counts.get("failed") or self.counts.get("refused") else 0

    def line(self) -> str:
        rate = self.files / self.seconds if self.seconds > 0 else 0.0
        counts = ", ".join(f"{self.counts.get(k, 0)} {k}" for k in KINDS)
        prefix = "ingest (dry run, nothing written)" if self.dry_run else "ingest"
        return f"{prefix}: {self.files} files in {self.seconds:.1f} s ({rate:.0f} files/s): {counts}"


def ingest(options: Options, settings: Settings, reporter: Reporter) -> Summary:
    """Run an ingest. Raises SetupError (one line) when the database cannot be used at all."""
    found = discover(options.inputs)
    if not found.tasks and not found.failures:
        reporter.warning(f"no FITS file found in {' '.join(options.inputs)}")
    reporter.start(len(found.tasks) + len(found.failures))
    for message in found.warnings:
        reporter.warning(message)
    for failure in found.failures:
        reporter.error(str(failure))
        reporter.outcome("failed", failure.path)
    config = options.config
    target = Target(config, normalise_authority(config.authority or settings.publisher_authority),
                    settings.base_url)
    run = new_run(options.agent, _parameters(options), config.source, settings.data_roots)
    with _extracted(found.tasks, Context(target, found.indexes), options.jobs) as results, \
            Loader(settings, run, dry_run=options.dry_run) as loader:
        if not options.dry_run:
            loader.lock_collection(config.collection)
        try:
            for chunk in _chunks(results, PREFETCH_CHUNK):
                loader.prefetch(r.key for r in chunk if isinstance(r, Observation))
                for result in chunk:
                    _load(result, loader, options, reporter)
        except BaseException:
            with suppress(SetupError):
                loader.finish(_summary(reporter, options).line() + " (interrupted)")
            raise
        loader.finish(_summary(reporter, options).line())
    summary = _summary(reporter, options)
    reporter.finish(summary.line())
    return summary


def _load(result: Result, loader: Loader, options: Options, reporter: Reporter) -> None:
    if isinstance(result, Skipped):
        reporter.outcome("skipped", result.path, result.reason)
        return
    if isinstance(result, IngestError):
        reporter.error(str(result))
        reporter.outcome("failed", result.path)
        return
    for message in result.warnings:
        reporter.warning(message)
    path, (collection, obs_id) = result.events.path, result.key
    try:
        outcome = loader.apply(result, update=options.update)
    except IngestError as exc:
        reporter.error(str(exc))
        reporter.outcome("failed", path)
        return
    if outcome.kind == "refused":
        reporter.error(f"{path}: OBS_ID {obs_id} is already in collection {collection!r} with other values; "
                       f"use --update to replace them: {'; '.join(outcome.changes)}")
    detail = f"OBS_ID {obs_id}" + (f": {'; '.join(outcome.changes)}" if outcome.kind == "updated" else "")
    reporter.outcome(outcome.kind, path, detail)


@contextmanager
def _extracted(tasks: list[Task], context: Context, jobs: int) -> Iterator[Iterator[Result]]:
    """Results in task order, from worker processes when that helps.

    The workers are forked before any database connection exists (the first batches are submitted before this
    yields), so they inherit none; at most a few batches per worker are in flight, so memory stays bounded however
    many files there are.
    """
    if jobs <= 1 or len(tasks) < PARALLEL_THRESHOLD:
        install(context)
        try:
            yield map(extract, tasks)
        finally:
            context.companions.close()
        return
    workers = min(jobs, len(tasks))
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    size = max(1, min(BATCH, len(tasks) // (workers * 4)))
    batches = [tasks[i:i + size] for i in range(0, len(tasks), size)]
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method),
                               initializer=install, initargs=(context,))
    try:
        pending = deque(pool.submit(extract_batch, batch) for batch in batches[:workers * IN_FLIGHT])
        yield _in_order(pool, pending, iter(batches[workers * IN_FLIGHT:]))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _in_order(pool: ProcessPoolExecutor, pending: deque[Future[list[Result]]],
              rest: Iterator[list[Task]]) -> Iterator[Result]:
    while pending:
        try:
            results = pending.popleft().result()
        except BrokenProcessPool as exc:
            raise SetupError(f"a worker process died ({exc}); run again with --jobs 1 to see which file "
                             "causes it") from None
        following = next(rest, None)
        if following is not None:
            pending.append(pool.submit(extract_batch, following))
        yield from results


def _chunks(results: Iterable[Result], size: int) -> Iterator[list[Result]]:
    iterator = iter(results)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _parameters(options: Options) -> dict[str, str]:
    parameters = {"collection": options.config.collection, "inputs": " ".join(options.inputs),
                  "update": str(options.update).lower(), "jobs": str(options.jobs)}
    if options.config.source is not None:
        parameters["config"] = str(options.config.source)
    return parameters


def _summary(reporter: Reporter, options: Options) -> Summary:
    return Summary(dict(reporter.counts), reporter.elapsed, options.dry_run)
