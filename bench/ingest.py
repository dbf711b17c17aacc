"""Ingest throughput: `tapserver ingest` on the H.E.S.S. DR1 runs next to bare astropy header loops.

    .venv/bin/python -m bench.ingest [--data DIR] [--jobs N ...] [--repeat K]

The database is a scratch one created on the server of TAPSERVER_DATABASE_URL and dropped at the end. Rates are
files per second over the event files of DIR (best of --repeat rounds, page cache warm):

* getheader(primary) and getheader(EVENTS): bare loops of astropy.io.fits.getheader, the I/O floor of reading one
  header per file (the EVENTS one is what an ingester cannot do without);
* gunzip: inflating every file completely (the ingester inflates each file up to its AEFF HDU and proves the
  rest through the hdu-index and the gzip trailer, or inflates it whole where it cannot);
* ingest (first): a full `tapserver ingest` run into an empty database (discovery, index tables, extraction in
  --jobs processes, one transaction per file, provenance);
* ingest (again): the same run repeated, every file unchanged.

Each round runs every measurement once; the best round counts for each.
"""

from __future__ import annotations

import argparse
import gzip
import os
import time
from collections.abc import Callable
from pathlib import Path

from astropy.io import fits

from bench.report import RESULTS_DIR, Figure, command_line, save
from ingest.cli import add_arguments, run
from tapserver.config import load_settings
from tapserver.migrate import upgrade
from tests.dbutil import throwaway_database

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dl3" / "gammapy-data-hess-dl3-dr1"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="dataset directory (default: HESS DR1)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[os.cpu_count() or 1], help="worker counts to try")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best counts")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR,
                        help=f"directory of the JSON results (default {RESULTS_DIR})")
    args = parser.parse_args()
    files = [p for p in sorted(args.data.rglob("*.fits*")) if _has_events(p)]
    print(f"{len(files)} event files under {args.data}, {os.cpu_count()} CPUs")
    loops: dict[str, Callable[[], object]] = {
        "getheader(primary)": lambda: [fits.getheader(f) for f in files],
        "getheader(EVENTS)": lambda: [fits.getheader(f, "EVENTS") for f in files],
        "gunzip (whole files)": lambda: [_gunzip(f) for f in files],
    }
    best: dict[str, float] = {}
    for _ in range(args.repeat):  # rounds interleave all measurements, so a busy moment hits them alike
        for name, action in loops.items():
            best[name] = min(best.get(name, float("inf")), _seconds(action))
        for jobs in args.jobs:
            first, again = _ingest_once(args.data, jobs)
            for name, seconds in ((f"tapserver ingest, first (jobs={jobs})", first),
                                  (f"tapserver ingest, again (jobs={jobs})", again)):
                best[name] = min(best.get(name, float("inf")), seconds)
    rows = list(best.items())
    print(f"{'measurement':<40} {'files/s':>9} {'ms/file':>9}")
    for name, seconds in rows:
        print(f"{name:<40} {len(files) / seconds:9.0f} {seconds * 1000 / len(files):9.2f}")
    fastest = min(seconds for name, seconds in rows if "first" in name)
    for name in loops:
        print(f"first ingest (best) runs at {best[name] / fastest:.0%} of the rate of {name}")
    rate = {name: len(files) / seconds for name, seconds in rows}
    best_jobs = max(args.jobs, key=lambda j: rate[f"tapserver ingest, first (jobs={j})"])
    first = rate[f"tapserver ingest, first (jobs={best_jobs})"]
    events, primary = rate["getheader(EVENTS)"], rate["getheader(primary)"]
    figures = [
        Figure(f"tapserver ingest, first run into an empty database (jobs={best_jobs}, {len(files)} files)", first,
               "files/s", "bare loop of getheader(path, 'EVENTS')", events, target="≥ 0.5 × the bare loop",
               met=first >= 0.5 * events),
        Figure(f"tapserver ingest, first run (jobs={best_jobs}), next to the primary header loop", first, "files/s",
               "bare loop of getheader(path) (primary header only)", primary),
        Figure(f"tapserver ingest, first run (jobs={best_jobs}), next to inflating every file", first, "files/s",
               "gunzip of every whole file", rate["gunzip (whole files)"]),
    ]
    for jobs in args.jobs:
        again = rate[f"tapserver ingest, again (jobs={jobs})"]
        figures.append(Figure(f"tapserver ingest, same run again, every file unchanged (jobs={jobs})", again,
                              "files/s", "bare loop of getheader(path, 'EVENTS')", events))
        if jobs != best_jobs:
            figures.append(Figure(f"tapserver ingest, first run (jobs={jobs})",
                                  rate[f"tapserver ingest, first (jobs={jobs})"], "files/s",
                                  "bare loop of getheader(path, 'EVENTS')", events))
    save("ingest", command_line("bench.ingest"), figures,
         {"files": len(files), "data": str(args.data), "files_per_second": rate}, directory=args.results)


def _has_events(path: Path) -> bool:
    with fits.open(path) as hdulist:
        return any(hdu.name == "EVENTS" for hdu in hdulist[1:])


def _seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _gunzip(path: Path) -> int:
    data = path.read_bytes()
    return len(gzip.decompress(data)) if data[:2] == b"\x1f\x8b" else len(data)


def _ingest_once(data: Path, jobs: int) -> tuple[float, float]:
    """Wall time of a first ingest into a fresh database and of the same ingest repeated."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([str(data), "--collection", "bench", "--jobs", str(jobs), "--quiet"])
    with throwaway_database("tapserver_bench_ingest") as url:
        settings = load_settings(database_url=url.render_as_string(hide_password=False))
        upgrade(settings)
        codes: list[int] = []
        first = _seconds(lambda: codes.append(run(args, settings)))
        again = _seconds(lambda: codes.append(run(args, settings)))
    if any(codes):
        raise SystemExit(f"ingest failed with exit codes {codes}")
    return first, again


if __name__ == "__main__":
    main()
