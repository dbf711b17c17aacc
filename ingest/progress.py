"""What the operator sees: a progress bar on a terminal, one plain line per file otherwise, errors on stderr."""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import TextIO

KINDS = ("loaded", "updated", "unchanged", "refused", "failed", "skipped")
_DRY = {"loaded": "would load", "updated": "would update", "refused": "would refuse"}


class Reporter:
    """Prints outcomes as they come. ``bar`` defaults to whether stderr is a terminal."""

    def __init__(self, *, quiet: bool = False, dry_run: bool = False, bar: bool | None = None,
                 out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.quiet = quiet
        self.dry_run = dry_run
        self.bar = (self.err.isatty() if bar is None else bar) and not quiet
        self.counts: Counter[str] = Counter()
        self.total = 0
        self._started = time.perf_counter()
        self._drawn = 0.0
        self._bar_shown = False

    def start(self, total: int) -> None:
        self.total = total
        self._started = time.perf_counter()
        self._draw(force=True)

    def outcome(self, kind: str, path: str, detail: str = "") -> None:
        """One file done; ``kind`` is one of KINDS."""
        self.counts[kind] += 1
        if not self.bar and not self.quiet and kind not in ("failed", "refused"):
            label = _DRY.get(kind, kind) if self.dry_run else kind
            self._line(self.out, f"{label:<12} {path}" + (f" ({detail})" if detail else ""))
        self._draw()

    def warning(self, message: str) -> None:
        if not self.quiet:
            self._line(self.err, f"warning: {message}")

    def error(self, message: str) -> None:
        self._line(self.err, f"error: {message}")

    def finish(self, line: str) -> None:
        self._clear()
        if not self.quiet:
            print(line, file=self.out, flush=True)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._started

    def _line(self, stream: TextIO, text: str) -> None:
        self._clear()
        print(text, file=stream, flush=True)
        self._draw(force=True)

    def _draw(self, force: bool = False) -> None:
        if not self.bar or not self.total:
            return
        now = time.perf_counter()
        done = sum(self.counts.values())
        if not force and now - self._drawn < 0.1 and done < self.total:
            return
        self._drawn = now
        width = 30
        filled = width * done // self.total
        rate = done / max(now - self._started, 1e-9)
        counts = " ".join(f"{self.counts[k]} {k}" for k in KINDS if self.counts[k])
        self.err.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} {counts} "
                       f"({rate:.0f} files/s)\x1b[K")
        self.err.flush()
        self._bar_shown = True

    def _clear(self) -> None:
        if self._bar_shown:
            self.err.write("\r\x1b[K")
            self.err.flush()
            self._bar_shown = False
