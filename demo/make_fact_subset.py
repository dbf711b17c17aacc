"""Build demo/data/fact: the first FACT open-data runs by file name, their IRF, and index tables for them.

    .venv/bin/python demo/make_fact_subset.py [SOURCE_DIR] [--runs N]

SOURCE_DIR is the joint-crab FACT release (default: ../shared/data/dl3/joint-crab-fact beside the repository).
The README and the licence of the release are copied with the data (the notice must travel with it). The obs-index
and hdu-index tables are the release's own, restricted to the copied runs; they are gzip-compressed with a zero
timestamp so that running the script again writes the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import io
import shutil
from pathlib import Path

import numpy as np
from astropy.io import fits

ROOT = Path(__file__).resolve().parent
DEFAULT_SOURCE = ROOT.parent.parent / "shared" / "data" / "dl3" / "joint-crab-fact"
TARGET = ROOT / "data" / "fact"
SHARED_FILES = ("fact_irf.fits", "README.md", "LICENSE.joint-crab-repo")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, nargs="?", default=DEFAULT_SOURCE, help="the FACT release directory")
    parser.add_argument("--runs", type=int, default=10, help="how many event files to copy (default 10)")
    args = parser.parse_args()
    events = sorted(args.source.glob("*_dl3.fits"))[:args.runs]
    if not events:
        raise SystemExit(f"no *_dl3.fits files in {args.source}")
    TARGET.mkdir(parents=True, exist_ok=True)
    for stale in TARGET.iterdir():
        stale.unlink()
    obs_ids = []
    for path in events:
        shutil.copyfile(path, TARGET / path.name)
        obs_ids.append(int(fits.getval(path, "OBS_ID", extname="EVENTS")))
    for name in SHARED_FILES:
        shutil.copyfile(args.source / name, TARGET / name)
    for name in ("obs-index.fits.gz", "hdu-index.fits.gz"):
        _write_subset(args.source / name, TARGET / name, obs_ids)
    print(f"wrote {len(events)} runs ({min(obs_ids)} ... {max(obs_ids)}) and their index tables to {TARGET}")


def _write_subset(source: Path, target: Path, obs_ids: list[int]) -> None:
    """Copy an index table keeping only the rows of ``obs_ids`` (headers unchanged but for the row count)."""
    with fits.open(source) as hdulist:
        table = hdulist[1]
        keep = np.isin(table.data["OBS_ID"], obs_ids)
        subset = fits.HDUList([fits.PrimaryHDU(header=hdulist[0].header),
                               fits.BinTableHDU(data=table.data[keep], header=table.header)])
        buffer = io.BytesIO()
        subset.writeto(buffer)
    target.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))


if __name__ == "__main__":
    main()
