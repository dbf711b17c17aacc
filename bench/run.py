"""`make bench`: run every benchmark of this folder (each in its own process), then rewrite the generated
section of docs/benchmarks.md from bench/results/*.json.

    .venv/bin/python -m bench.run                   # every bench/*.py, then the document
    .venv/bin/python -m bench.run --only sync_output datalink
    .venv/bin/python -m bench.run --report-only     # only rewrite the document from the existing results

Every module of bench/ but this one, `report` and `__init__` is a benchmark; they run in the order of
ORDER (then any other by name), each with the options of OPTIONS (those of the figures the document
shows). A failing benchmark does not stop the others; its last good results, if any, stay in the
document with a note. The exit status is 1 if any benchmark failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from bench import report

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"__init__", "run", "report", "procfs"}
# Cheap ones first, so a broken database shows up early; `load` last (it starts many clients).
ORDER = ("adql_translate", "sync_output", "sync_http", "sync_latency", "ingest", "datalink", "provsap",
         "async_jobs", "load", "load_think1", "load_think0.5", "load_replica")
TITLES = {"adql_translate": "ADQL translation", "sync_output": "Sync output", "sync_http": "Sync output over HTTP",
          "sync_latency": "Sync latency", "ingest": "Ingestion", "datalink": "DataLink", "provsap": "ProvSAP",
          "async_jobs": "Async jobs", "load": "Load: 50 clients without pause (capacity)",
          "load_think1": "Load: 50 interactive clients, 1 s mean think time",
          "load_think0.5": "Load: 50 interactive clients, 0.5 s mean think time",
          "load_replica": "Load: single node against the replica topology (50 clients without pause)"}
#: The runs of each benchmark (default: one, without options). `load` runs four times: saturating, with 1 s
#: and 0.5 s of think time, and single node against the replica topology (results load.json,
#: load_think1.json, load_think0.5.json, load_replica.json).
OPTIONS: dict[str, list[list[str]]] = {
    "sync_output": [["--rows", "1000000"]],
    "ingest": [["--jobs", "1", "2", "--repeat", "4"]],
    "load": [[], ["--think", "1"], ["--think", "0.5"], ["--replica"]],
}


def benchmarks() -> list[str]:
    """The benchmark modules of bench/, in running order."""
    found = {p.stem for p in HERE.glob("*.py")} - NOT_BENCHMARKS
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


def run_one(name: str) -> int:
    """Run the benchmark (each of its runs); non-zero if any run failed."""
    codes = []
    for options in OPTIONS.get(name, [[]]):
        command = [sys.executable, "-m", f"bench.{name}", *options]
        print(f"\n=== {' '.join(command)}", flush=True)
        start = time.monotonic()
        codes.append(subprocess.call(command, cwd=HERE.parent))
        print(f"=== bench.{name}: exit {codes[-1]} after {time.monotonic() - start:.0f} s", flush=True)
    return next((code for code in codes if code), 0)


def write_document(results: Path = report.RESULTS_DIR, doc: Path = report.DOC,
                   failed: dict[str, str] | None = None) -> list[str]:
    """Rewrite the generated section of `doc` from the results files; the names of the files skipped."""
    documents, skipped = report.load_all(results, ORDER)
    names = {d["name"] for d in documents}
    notes = {name: f"The run of {date} failed; " + ("these figures are those of the last run that succeeded."
                                                   if name in names else "there are no earlier results.")
             for name, date in (failed or {}).items()}
    section = report.render(documents, notes, TITLES)
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    updated = report.replace_section(text, section)
    if updated != text:
        doc.write_text(updated)
    return skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Run every benchmark of bench/, then rewrite the generated section of docs/benchmarks.md.")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--report-only", action="store_true", help="run nothing, only rewrite the document")
    parser.add_argument("--results", type=Path, default=report.RESULTS_DIR, help="results directory")
    parser.add_argument("--doc", type=Path, default=report.DOC, help="document to rewrite")
    args = parser.parse_args(argv)
    names = benchmarks()
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"no such benchmark: {', '.join(unknown)} (known: {', '.join(names)})")
        names = [n for n in names if n in args.only]
    failed: dict[str, str] = {}
    if not args.report_only:
        for name in names:
            if run_one(name) != 0:
                failed[name] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    skipped = write_document(args.results, args.doc, failed)
    print(f"\n{args.doc} rewritten from {args.results}", flush=True)
    if skipped:
        print(f"skipped (not in the format of bench/report.py): {', '.join(skipped)}", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
