"""GADF bundle throughput: /gadf/datastore as a tar of the H.E.S.S. DR1 runs next to `tar` of the same files.

    .venv/bin/python -m bench.bundle [--repeat 3]

A scratch database gets the H.E.S.S. DR1 runs ingested (105 runs, 62 MB of gzip FITS). `tapserver serve` (one
uvicorn process) runs on a free port; the client, `curl -o /dev/null` (a C client, as `cat` is for `tar`:
httpx spent about 0.1 s of CPU on 62 MB itself, more than the server's streaming), downloads the bundle of
every run selected by one ADQL query. The baseline, in the same run: `tar -cf -` of the same files piped
into `cat > /dev/null` (warm page cache for both), run after each download; the best of each counts. The
server's resident memory is sampled during 2 x --repeat downloads: flat memory means that what it grows
during the second half is under 1 % of the bytes sent in that half (a server keeping one 1 MiB chunk per
bundle would grow 1.7 %; keeping the bundles, 100 %). Growth that there is comes with the first requests:
the per-request selection, index tables and thread pools, not the bytes sent; the idle figure is read after
4 warm-up downloads, once the thread pool's malloc arenas hold their chunks.

Results go to bench/results/bundle.json. The database is removed at the end.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.procfs import process_tree, rss_mb
from bench.report import Figure, command_line, save
from ingest.cli import add_arguments, run
from tapserver.config import Settings, load_settings
from tapserver.migrate import upgrade
from tests.dbutil import throwaway_database
from tests.e2e.server import server_process

DL3 = (Path(__file__).resolve().parents[2] / "shared" / "data" / "dl3").resolve()
HESS = DL3 / "gammapy-data-hess-dl3-dr1"
#: Downloads before the idle memory is read: each new connection may land on another thread of the pool,
#: whose malloc arena then holds a chunk or two.
WARM = 4
QUERY = "SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_collection = 'hess-dr1'"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bundle", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="downloads per measurement; the best counts")
    parser.add_argument("--arenas", type=int, default=0, metavar="N",
                        help="MALLOC_ARENA_MAX of the server (0: glibc's default, 8 per core)")
    args = parser.parse_args()
    with throwaway_database("tapserver_bench_bundle") as db_url:
        settings = load_settings(database_url=db_url.render_as_string(hide_password=False),
                                 data_roots=[str(DL3)])
        upgrade(settings)
        parser_ = argparse.ArgumentParser()
        add_arguments(parser_)
        if run(parser_.parse_args([str(HESS), "--collection", "hess-dr1", "--quiet"]), settings):
            raise SystemExit("ingest failed")
        _measure(settings, args)


def _files(settings: Settings) -> list[str]:
    engine = create_engine(settings.admin_url, poolclass=NullPool)
    with engine.connect() as conn:
        paths = conn.execute(text("SELECT DISTINCT file_path FROM datalink.product")).scalars().all()
    engine.dispose()
    return sorted(str(p) for p in paths)


def _tar_seconds(files: list[str]) -> float:
    relative = " ".join(shlex.quote(str(Path(f).relative_to(HESS))) for f in files)
    start = time.perf_counter()
    subprocess.run(f"tar -cf - -C {shlex.quote(str(HESS))} {relative} | cat > /dev/null", shell=True, check=True)
    return time.perf_counter() - start


def _malloc_env(args: argparse.Namespace) -> dict[str, str]:
    return {"MALLOC_ARENA_MAX": str(args.arenas)} if args.arenas else {}


def _download(url: str) -> tuple[float, int]:
    """Seconds and bytes of one download of the bundle (curl, one connection)."""
    full = f"{url}?{urllib.parse.urlencode({'QUERY': QUERY})}"
    start = time.perf_counter()
    out = subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", "-w", "%{size_download}", full],
                         capture_output=True, text=True, check=True)
    return time.perf_counter() - start, int(out.stdout)


def _measure(settings: Settings, args: argparse.Namespace) -> None:
    files = _files(settings)
    total = sum(Path(f).stat().st_size for f in files)
    url = settings.admin_url.render_as_string(hide_password=False).replace("+psycopg", "")
    env = {"TAPSERVER_DATA_ROOTS": f'["{DL3}"]', "TAPSERVER_WORKERS": "0", **_malloc_env(args)}
    with tempfile.TemporaryDirectory(), server_process(url, extra_env=env) as (base, process):
        for _ in range(WARM):  # warm: page cache, imports, the thread pool and its malloc arenas
            _download(f"{base}/gadf/datastore")
        idle = rss_mb(process_tree(process.pid))
        peak = [idle]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_mb(process_tree(process.pid)))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # tar runs between the downloads: both see the same load on a shared machine
        timings, tars = [], []
        for _ in range(args.repeat):
            timings.append(_download(f"{base}/gadf/datastore"))
            tars.append(_tar_seconds(files))
        half = peak[0]
        for _ in range(args.repeat):
            timings.append(_download(f"{base}/gadf/datastore"))
            tars.append(_tar_seconds(files))
        done.set()
        sampler.join()
    seconds, size = min(timings)
    tar = min(tars)
    bundle_mb_s, tar_mb_s = size / 1e6 / seconds, total / 1e6 / tar
    figures = [
        Figure("bundle of 105 H.E.S.S. runs, tar over HTTP (curl)", bundle_mb_s, "MB/s", baseline="tar -cf - | cat",
               baseline_value=tar_mb_s, target="≥ 0.8 × tar", met=bundle_mb_s >= 0.8 * tar_mb_s),
        Figure(f"server RSS growth over idle after {2 * args.repeat} bundles ({2 * args.repeat * size / 1e6:.0f} MB)",
               peak[0] - idle, "MB", baseline=f"after the first {args.repeat}", baseline_value=half - idle,
               higher_is_better=False,
               target=f"flat: second half grows < 1 % of its {args.repeat * size / 1e6:.0f} MB sent",
               met=peak[0] - half < 0.01 * args.repeat * size / 1e6),
    ]
    save("bundle", command_line("bench.bundle"), figures,
         {"bundle_bytes": size, "files": len(files), "file_bytes": total, "seconds": seconds, "tar_seconds": tar})


if __name__ == "__main__":
    main()
