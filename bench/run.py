"""`make bench`: run every benchmark of this folder in turn (each in its own process) and report.

Each benchmark prints its own table and writes bench/results/<name>.json; docs/benchmarks.md holds the
figures with the commands that produced them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCHMARKS = ("adql_translate", "sync_output", "sync_http", "sync_latency", "ingest", "datalink", "provsap",
              "async_jobs")


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== bench.{name}", flush=True)
        start = time.monotonic()
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=Path(__file__).resolve().parent.parent)
        print(f"=== bench.{name}: exit {code} after {time.monotonic() - start:.0f} s", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
