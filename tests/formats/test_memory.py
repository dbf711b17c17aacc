"""Memory stays flat: peak RSS of a process streaming 1,000,000 rows is that of one streaming 100,000."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SCRIPT = r"""
import json, sys
import psycopg
from tapserver.formats import find_format
from tapserver.tap.results import stream_query
from tapserver.votable.fields import ResultColumn as RC

dsn, fmt, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
columns = [RC("i", "long"), RC("name", "char", "*"), RC("x", "double"), RC("t", "char", "*", xtype="timestamp"),
           RC("p", "double", "2", xtype="point"), RC("r", "char", "*", xtype="adql:REGION")]
sql = ("SELECT i::int8, 'ivo://example.org/obs?' || i, i * 0.5::float8, "
       "timestamp '2000-01-01' + i * interval '1 s', ARRAY[mod(i, 360), 0.5]::float8[], "
       "'Circle ICRS ' || mod(i, 360) || ' 10 2.5' FROM generate_series(1, %d) i" % rows)
with psycopg.connect(dsn) as conn:
    stream = stream_query(conn, sql, columns, find_format(fmt), maxrec=None, batch_rows=5000)
    size = sum(len(chunk) for chunk in stream)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork+exec, so it would report pytest's own peak.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"rows": stream.rows, "bytes": size, "rss_mb": hwm / 1024}))
"""


def peak(dsn: str, fmt: str, rows: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, dsn, fmt, str(rows)], capture_output=True, text=True,
                         check=False, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["votable", "votable/td", "csv", "parquet", "fits"])
def test_peak_rss_does_not_grow_with_rows(formats_db: str, fmt: str) -> None:
    small = peak(formats_db, fmt, 100_000)
    large = peak(formats_db, fmt, 1_000_000)
    assert small["rows"] == 100_000 and large["rows"] == 1_000_000
    assert large["bytes"] > 8 * small["bytes"]
    assert large["rss_mb"] - small["rss_mb"] < 25, (small, large)
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
