"""Memory stays flat: peak RSS of a process streaming 400,000 rows is that of one streaming 40,000.

Each format streams in a process of its own, forked from one interpreter that has imported psycopg and the
writers' modules (tests/preloaded.py: a new interpreter per format took 0.4 s of CPU to import them); a format's
own libraries (pyarrow, astropy) are imported in its process, by its first stream, as before.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.preloaded import Preloaded

SMALL, LARGE = 40_000, 400_000
#: How much more the large stream may take at its peak than the small one (MB).
GROWTH_LIMIT_MB = 10

SCRIPT = r"""
import json, sys
import psycopg
from tapserver.formats import find_format
from tapserver.tap.results import stream_query
from tapserver.votable.fields import ResultColumn as RC

def peak_mb():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork+exec (pytest's own peak), and only VmHWM is
    # reset by writing 5 to clear_refs (to the RSS of that moment).
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024

dsn, fmt, sizes = sys.argv[1], sys.argv[2], [int(n) for n in sys.argv[3:]]
columns = [RC("i", "long"), RC("name", "char", "*"), RC("x", "double"), RC("t", "char", "*", xtype="timestamp"),
           RC("p", "double", "2", xtype="point"), RC("r", "char", "*", xtype="adql:REGION")]
measured = []
with psycopg.connect(dsn) as conn:
    for rows in sizes:
        # generate_series in the select list: PostgreSQL streams its rows (in FROM it would materialise them)
        sql = ("SELECT i::int8, 'ivo://example.org/obs?' || i, i * 0.5::float8, "
               "timestamp '2000-01-01' + i * interval '1 s', ARRAY[mod(i, 360), 0.5]::float8[], "
               "'Circle ICRS ' || mod(i, 360) || ' 10 2.5' FROM (SELECT generate_series(1, %d) AS i) AS s" % rows)
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        stream = stream_query(conn, sql, columns, find_format(fmt), maxrec=None, batch_rows=5000)
        size = sum(len(chunk) for chunk in stream)
        conn.rollback()
        measured.append({"rows": stream.rows, "bytes": size, "rss_mb": peak_mb()})
print(json.dumps(measured))
"""


#: What SCRIPT imports before it streams (the helper imports them once).
PRELOAD = ["json", "psycopg", "tapserver.formats", "tapserver.tap.results", "tapserver.votable.fields"]


@pytest.fixture(scope="module")
def python() -> Iterator[Preloaded]:
    with Preloaded(PRELOAD) as preloaded:
        yield preloaded


def peaks(python: Preloaded, dsn: str, fmt: str, *sizes: int) -> list[dict[str, float]]:
    """Rows, bytes and peak RSS of streaming each of ``sizes`` rows in turn, in one process of its own."""
    out = python.run(SCRIPT, dsn, fmt, *map(str, sizes), timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["votable", "votable/td", "csv", "parquet", "fits"])
def test_peak_rss_does_not_grow_with_rows(python: Preloaded, formats_db: str, fmt: str) -> None:
    """Ten times the rows, the same peak. The small stream runs first in the same process and the peak is reset
    before each, so the large one starts with whatever the small one left resident and only memory beyond the
    small stream's peak shows as growth.

    Measured growth is under 1 MB (about 4 MB for parquet, jemalloc's arenas). A writer that kept the result
    would add far more than GROWTH_LIMIT_MB: psycopg rows or Arrow columns of 360,000 more rows take well over
    20 MB, and even the encoded output alone adds 36 to 62 MB (VOTable, CSV, FITS) or 9 MB (compressed parquet,
    measured 12.5 MB with the writer's own growth)."""
    small, large = peaks(python, formats_db, fmt, SMALL, LARGE)
    assert small["rows"] == SMALL and large["rows"] == LARGE
    assert large["bytes"] > 8 * small["bytes"]
    assert large["rss_mb"] - small["rss_mb"] < GROWTH_LIMIT_MB, (small, large)
    assert large["rss_mb"] < 300


@pytest.mark.parametrize(("env", "backend"), [({}, "jemalloc"), ({"ARROW_DEFAULT_MEMORY_POOL": "system"}, "system")])
def test_arrow_writers_use_a_returning_pool(env: dict[str, str], backend: str) -> None:
    """The server (app loaded first) gives the Arrow writers jemalloc, unless the operator chose a pool."""
    import os

    code = ("import tapserver.app, tapserver.formats.parquet, pyarrow as pa; "
            "print(pa.default_memory_pool().backend_name)")
    base = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
                         env={**base, **env})
    assert out.stdout.strip() == backend
