"""Cutout latency: /soda/sync on real runs next to astropy reading the whole file and filtering it.

    .venv/bin/python -m bench.cutout [--repeat 15]

A scratch database gets one H.E.S.S. DR1 run (gzip, 7,613 events, with its IRFs), one CTA 1DC run (plain
FITS, 4.8 MB, about 100,000 events) and one FACT run ingested. `tapserver serve` (one uvicorn process) runs on
a free port; the client (httpx, keep-alive) asks for a cut in a circle of 1 deg about the pointing, the
middle half of the observation in time and 1-10 TeV, and reads the whole answer (a FITS file with the cut
EVENTS, the GTI and the IRF HDUs). The baseline, in the same process and run: astropy opens the whole file,
reads EVENTS and GTI as tables and selects the same rows (SkyCoord separation, time and energy masks) --
what a client does when it downloads the file to cut it itself, without counting the download. Medians of
``--repeat`` runs each.

Results go to bench/results/cutout.json. The database is removed at the end.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import httpx
import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

from bench.report import Figure, command_line, save
from ingest.cli import add_arguments, run
from tapserver.config import Settings, load_settings
from tapserver.migrate import upgrade
from tests.dbutil import throwaway_database
from tests.e2e.server import running_server

DL3 = (Path(__file__).resolve().parents[2] / "shared" / "data" / "dl3").resolve()
RUNS = {
    "H.E.S.S. 23523 (gzip, 0.6 MB)": DL3 / "gammapy-data-hess-dl3-dr1" / "data" / "hess_dl3_dr1_obs_id_023523.fits.gz",
    "CTA 1DC 110380 (4.8 MB)": DL3 / "gammapy-data-cta-1dc" / "data" / "baseline" / "gps" / "gps_baseline_110380.fits",
    "FACT 20131103103 (26 kB)": DL3 / "joint-crab-fact" / "20131103_103_dl3.fits",
}


def _cut(path: Path) -> tuple[float, float, float, float, float]:
    """Circle centre (pointing), and the middle half of the observation as MJD (TT)."""
    with fits.open(path) as hdul:
        h = hdul["EVENTS"].header
        gti = hdul["GTI"].data
        start, stop = float(gti["START"].min()), float(gti["STOP"].max())
    reference = Time(float(h["MJDREFI"]), float(h["MJDREFF"]), format="mjd", scale=str(h["TIMESYS"]).lower())
    t1 = (reference + (start + 0.25 * (stop - start)) * u.s).tt.mjd
    t2 = (reference + (start + 0.75 * (stop - start)) * u.s).tt.mjd
    return float(h["RA_PNT"]), float(h["DEC_PNT"]), float(t1), float(t2), float(
        (reference + start * u.s).tt.mjd)


def astropy_cut(path: Path, ra: float, dec: float, t1: float, t2: float) -> int:
    """The baseline: open the whole file, read EVENTS and GTI, select the rows."""
    with fits.open(path) as hdul:
        events = Table.read(hdul["EVENTS"])
        Table.read(hdul["GTI"])
        h = hdul["EVENTS"].header
        reference = Time(float(h["MJDREFI"]), float(h["MJDREFF"]), format="mjd", scale=str(h["TIMESYS"]).lower())
    m1 = (Time(t1, format="mjd", scale="tt") - reference).to_value(u.s)
    m2 = (Time(t2, format="mjd", scale="tt") - reference).to_value(u.s)
    coords = SkyCoord(np.asarray(events["RA"], float) * u.deg, np.asarray(events["DEC"], float) * u.deg)
    energy, times = np.asarray(events["ENERGY"], float), np.asarray(events["TIME"], float)
    keep = ((coords.separation(SkyCoord(ra * u.deg, dec * u.deg)).deg <= 1.0) & (times >= m1) & (times <= m2)
            & (energy >= 1) & (energy <= 10))
    return int(keep.sum())


def _median_seconds(repeat: int, call: object) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cutout", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per measurement; the median counts")
    args = parser.parse_args()
    with throwaway_database("tapserver_bench_cutout") as db_url:
        settings = load_settings(database_url=db_url.render_as_string(hide_password=False), data_roots=[str(DL3)])
        upgrade(settings)
        for path in RUNS.values():
            parser_ = argparse.ArgumentParser()
            add_arguments(parser_)
            if run(parser_.parse_args([str(path), "--collection", "bench", "--quiet", "-j", "1"]), settings):
                raise SystemExit(f"ingest of {path} failed")
        _measure(settings, args)


def _measure(settings: Settings, args: argparse.Namespace) -> None:
    url = settings.admin_url.render_as_string(hide_password=False).replace("+psycopg", "")
    env = {"TAPSERVER_DATA_ROOTS": f'["{DL3}"]', "TAPSERVER_WORKERS": "0"}
    figures, details = [], {}
    with running_server(url, extra_env=env) as base, httpx.Client(timeout=120) as client:
        links = client.get(f"{base}/tap/sync", params={
            "LANG": "ADQL", "RESPONSEFORMAT": "csv",
            "QUERY": "SELECT obs_id, obs_publisher_did FROM ivoa.obscore"}).text.splitlines()[1:]
        dids = dict(line.split(",", 1) for line in links)
        for label, path in RUNS.items():
            obs_id = next(o for o in dids if o in path.name.replace("_", "") or o in path.name)
            ra, dec, t1, t2, _ = _cut(path)
            params = {"ID": dids[obs_id], "CIRCLE": f"{ra} {dec} 1.0", "TIME": f"{t1!r} {t2!r}", "ENERGY": "1 10"}

            def soda(p: dict[str, str] = params) -> None:
                response = client.get(f"{base}/soda/sync", params=p)
                response.raise_for_status()

            soda()  # warm
            server = _median_seconds(args.repeat, soda)
            local = _median_seconds(args.repeat, lambda p=path, r=ra, d=dec, a=t1, b=t2: astropy_cut(p, r, d, a, b))
            kept = astropy_cut(path, ra, dec, t1, t2)
            details[label] = {"events_kept": kept, "server_ms": server * 1000, "astropy_ms": local * 1000}
            figures.append(Figure(f"cutout over HTTP, {label}", server * 1000, "ms",
                                  baseline="astropy: open, read, filter the whole file", baseline_value=local * 1000,
                                  target="faster than astropy", higher_is_better=False, met=server < local))
    save("cutout", command_line("bench.cutout"), figures, details)


if __name__ == "__main__":
    main()
