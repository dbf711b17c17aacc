"""DataLink throughput: {links} responses per second and file downloads in MB/s next to a plain copy.

    .venv/bin/python -m bench.datalink [--requests 2000] [--batches 200] [--threads 1 4] [--file-mb 256]

A scratch database on the server of TAPSERVER_DATABASE_URL gets the H.E.S.S. DR1 runs ingested (105
datasets, 6 products each); a scratch directory gets a large FITS file (a primary HDU and one binary
table of --file-mb MB) and its gzip copy. `tapserver serve` (one uvicorn process) runs on a free port;
the client uses keep-alive connections (httpx), one per thread. Measured:

* links, 1 ID: GET /datalink/links?ID=... for one dataset (9 rows), responses/s;
* links, 100 IDs: POST with 100 IDs (900 rows), responses/s and IDs/s;
* download: the whole large file, the binary table HDU of it (served as a FITS file of its own) and
  the same HDU out of the gzip copy (decompressed while streaming), MB/s read by the client: httpx
  (a Python client, like pyvo) and, if installed, curl (a client that costs next to nothing);
* plain copy: shutil.copyfile of the large file into the scratch directory, and a bare read of it
  (both with a warm page cache), the disk/memory limit the downloads compare with, and gunzip of the
  gzip copy, the limit of the HDU-from-gzip download.

Results go to bench/results/datalink.json. The database and the scratch files are removed at the end.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
from astropy.io import fits
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.report import Figure, command_line, save
from ingest.cli import add_arguments, run
from tapserver.config import Settings, load_settings
from tapserver.datalink.model import file_url, links_url
from tapserver.migrate import upgrade
from tests.dbutil import throwaway_database
from tests.e2e.server import running_server

DL3 = Path(__file__).resolve().parents[2] / "shared" / "data" / "dl3"
HESS = DL3 / "gammapy-data-hess-dl3-dr1"
BENCH_DATASET = "ivo://tapserver.example/bench?big"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.datalink", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="single-ID links requests per run")
    parser.add_argument("--batches", type=int, default=200, help="100-ID links requests per run")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4], help="client threads to try")
    parser.add_argument("--file-mb", type=int, default=256, help="size of the large file in MB")
    parser.add_argument("--repeat", type=int, default=3, help="runs per download measurement; the best counts")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="tapserver-bench-datalink-"))
    with throwaway_database("tapserver_bench_datalink") as db_url:
        settings = load_settings(database_url=db_url.render_as_string(hide_password=False))
        try:
            _measure_all(settings, scratch, args)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _measure_all(settings: Settings, scratch: Path, args: argparse.Namespace) -> None:
    """Load the data into the (empty) scratch database, serve it, measure and report."""
    upgrade(settings)
    _ingest(settings)
    big, big_gz, hdu_bytes = _make_files(scratch, args.file_mb)
    dids = _dids(settings)
    _add_products(settings, big, big_gz)
    url = settings.admin_url.render_as_string(hide_password=False).replace("+psycopg", "")
    env = {"TAPSERVER_DATA_ROOTS": json.dumps([str(DL3), str(scratch)]), "TAPSERVER_WORKERS": "0"}
    with running_server(url, extra_env=env) as base:
        results = _measure(base, dids, args, big, big_gz, hdu_bytes, scratch)
    _report(results, args)


def _measure(base: str, dids: list[str], args: argparse.Namespace, big: Path, big_gz: Path, hdu_bytes: int,
             scratch: Path) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    single = [links_url(base, d) for d in dids]
    batches = [dids[i:i + 100] for i in range(0, len(dids) - 99, 5)] or [dids[:100]]
    for threads in args.threads:
        seconds = _parallel(threads, args.requests, lambda c, i: _get(c, single[i % len(single)]))
        results[f"links, 1 ID ({threads} threads)"] = {"responses_per_s": args.requests / seconds,
                                                       "ms_per_response": seconds * 1000 / args.requests * threads}
        seconds = _parallel(threads, args.batches,
                            lambda c, i: _post(c, f"{base}/datalink/links", batches[i % len(batches)]))
        results[f"links, 100 IDs ({threads} threads)"] = {
            "responses_per_s": args.batches / seconds, "ids_per_s": 100 * args.batches / seconds,
            "ms_per_response": seconds * 1000 / args.batches * threads}
    mb = big.stat().st_size / 1e6
    downloads = {
        "download, whole file": (file_url(base, f"{BENCH_DATASET}#file"), big.stat().st_size),
        "download, table HDU of a plain file": (file_url(base, f"{BENCH_DATASET}#table"), 2880 + hdu_bytes),
        "download, table HDU of a gzip file": (file_url(base, f"{BENCH_DATASET}#table-gz"), 2880 + hdu_bytes),
    }
    with httpx.Client(timeout=600) as client:
        for name, (url, size) in downloads.items():
            seconds = _best(args.repeat, lambda u=url, s=size: _download(client, u, s))  # type: ignore[misc]
            results[name] = {"mb_per_s": size / 1e6 / seconds}
            if shutil.which("curl"):
                seconds = _best(args.repeat, lambda u=url, s=size: _curl(u, s))  # type: ignore[misc]
                results[name + " (curl)"] = {"mb_per_s": size / 1e6 / seconds}
        middle = big.stat().st_size // 2
        span = min(10_000_000, middle)  # 10 MB, less with a small --file-mb
        seconds = _best(args.repeat, lambda: _download(client, downloads["download, whole file"][0], span,
                                                       {"Range": f"bytes={middle}-{middle + span - 1}"}))
        results[f"download, {span / 1e6:.3g} MB range of the file"] = {"mb_per_s": span / 1e6 / seconds}
    copy = scratch / "copy.fits"
    results["plain copy (shutil.copyfile)"] = {"mb_per_s": mb / _best(args.repeat, lambda: _copy(big, copy))}
    results["plain read"] = {"mb_per_s": mb / _best(args.repeat, lambda: _read(big))}
    gz_mb = big_gz.stat().st_size / 1e6
    results["plain gunzip of the gzip copy (output MB/s)"] = {
        "mb_per_s": big.stat().st_size / 1e6 / _best(args.repeat, lambda: _gunzip(big_gz)), "gzip_mb": gz_mb}
    return results


def _parallel(threads: int, total: int, call: Callable[[httpx.Client, int], None]) -> float:
    """Wall time of ``total`` calls spread over ``threads`` threads, each with its own connection."""
    counter = iter(range(total))
    lock = threading.Lock()
    ready = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def worker() -> None:
        with httpx.Client(timeout=60) as client:
            call(client, 0)  # open and warm the connection before the clock starts
            ready.wait()
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                try:
                    call(client, i)
                except BaseException as exc:
                    errors.append(exc)
                    return

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    ready.wait()
    start = time.perf_counter()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - start


def _get(client: httpx.Client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200 or b"<TR>" not in response.content or b"Fault:" in response.content:
        raise RuntimeError(f"unexpected links response {response.status_code} from {url}")


def _post(client: httpx.Client, url: str, ids: list[str]) -> None:
    response = client.post(url, data={"ID": ids})
    if response.status_code != 200 or response.content.count(b"<TR>") < len(ids) or b"Fault:" in response.content:
        raise RuntimeError(f"unexpected links response {response.status_code}")


def _download(client: httpx.Client, url: str, size: int, headers: dict[str, str] | None = None) -> None:
    got = 0
    with client.stream("GET", url, headers=headers) as response:
        if response.status_code not in (200, 206):
            raise RuntimeError(f"download of {url} failed: {response.status_code}")
        for chunk in response.iter_raw(1 << 20):
            got += len(chunk)
    if got != size:
        raise RuntimeError(f"download of {url}: {got} bytes, expected {size}")


def _curl(url: str, size: int) -> None:
    run = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", url],
                         capture_output=True, text=True, check=True)
    if run.stdout.split() != ["200", str(size)]:
        raise RuntimeError(f"curl {url}: {run.stdout} {run.stderr}")


def _copy(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)
    target.unlink()


def _read(path: Path) -> None:
    with path.open("rb", buffering=0) as handle:
        while handle.read(1 << 20):
            pass


def _gunzip(path: Path) -> None:
    with gzip.open(path, "rb") as handle:
        while handle.read(1 << 20):
            pass


def _best(repeat: int, action: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def _make_files(scratch: Path, megabytes: int) -> tuple[Path, Path, int]:
    """A FITS file with a primary HDU and a ``megabytes`` MB binary table, and its gzip (level 1) copy."""
    rows = megabytes * 1_000_000 // 32
    rng = np.random.default_rng(42)
    columns = [fits.Column(name=n, format="D", array=rng.random(rows)) for n in ("TIME", "ENERGY", "RA", "DEC")]
    table = fits.BinTableHDU.from_columns(columns, name="EVENTS")
    big = scratch / "big.fits"
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(big)
    big_gz = scratch / "big.fits.gz"
    with big.open("rb") as source, gzip.open(big_gz, "wb", compresslevel=1) as target:
        shutil.copyfileobj(source, target, 1 << 20)
    return big, big_gz, big.stat().st_size - 2880


def _ingest(settings: Settings) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    if run(parser.parse_args([str(HESS), "--collection", "hess-dr1", "--quiet"]), settings):
        raise SystemExit("ingest failed")


def _dids(settings: Settings) -> list[str]:
    engine = create_engine(settings.admin_url, poolclass=NullPool)
    with engine.connect() as conn:
        dids = list(conn.execute(text("SELECT obs_publisher_did FROM ivoa.obscore ORDER BY 1")).scalars())
    engine.dispose()
    if len(dids) < 100:
        raise SystemExit(f"only {len(dids)} datasets ingested")
    return dids


def _add_products(settings: Settings, big: Path, big_gz: Path) -> None:
    engine = create_engine(settings.admin_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO ivoa.obscore (calib_level, obs_collection, obs_id, obs_publisher_did) "
                          "VALUES (2, 'bench', 'big', :d)"), {"d": BENCH_DATASET})
        for suffix, path, index in (("file", big, None), ("table", big, 1), ("table-gz", big_gz, 1)):
            conn.execute(text(
                "INSERT INTO datalink.product (product_id, obs_publisher_did, semantics, content_type, file_path,"
                " hdu_index, hdu_name) VALUES (:p, :d, '#this', 'application/fits', :f, :i, :n)"),
                {"p": f"{BENCH_DATASET}#{suffix}", "d": BENCH_DATASET, "f": str(path), "i": index,
                 "n": "EVENTS" if index else None})
    engine.dispose()


def _report(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    print(f"{os.cpu_count()} CPUs, one uvicorn process, large file {args.file_mb} MB")
    print(f"{'measurement':<42} {'value':>12}")
    for name, values in results.items():
        if "responses_per_s" in values:
            extra = f" ({values['ids_per_s']:.0f} IDs/s)" if "ids_per_s" in values else ""
            print(f"{name:<42} {values['responses_per_s']:9.0f} responses/s, "
                  f"{values['ms_per_response']:.2f} ms each{extra}")
        else:
            print(f"{name:<42} {values['mb_per_s']:9.0f} MB/s")
    save("datalink", command_line("bench.datalink"), figures(results, args.file_mb),
         {"cpus": os.cpu_count(), "file_mb": args.file_mb, "results": results})


def figures(results: dict[str, dict[str, float]], file_mb: int) -> list[Figure]:
    """The headline figures: links responses/s, and each download next to the plain copy or gunzip."""
    out = []
    for name, values in results.items():
        if "responses_per_s" in values:
            what, threads = name.removesuffix(" threads)").split(" (")
            ids = f" ({values['ids_per_s']:,.0f} IDs/s)" if "ids_per_s" in values else ""
            clients = f"{threads} client" + ("" if threads == "1" else "s")
            out.append(Figure(f"{what}, {clients}{ids}", values["responses_per_s"], "responses/s"))
    copy = results.get("plain copy (shutil.copyfile)", {}).get("mb_per_s")
    gunzip = results.get("plain gunzip of the gzip copy (output MB/s)", {}).get("mb_per_s")
    for name, values in results.items():
        if not name.startswith("download"):
            continue
        client = "curl" if name.endswith("(curl)") else "httpx"
        what = name.removesuffix(" (curl)").removeprefix("download, ")
        if "gzip" in what:
            baseline, value = "gunzip alone (output MB/s)", gunzip
        else:
            baseline, value = f"`shutil.copyfile` of the {file_mb} MB file, warm cache", copy
        out.append(Figure(f"download, {what} ({client})", values["mb_per_s"], "MB/s", baseline, value))
    return out

if __name__ == "__main__":
    main()
