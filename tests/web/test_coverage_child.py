"""The coverage MOC's spawned child process does not outlive a server that is killed."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.nodb

SCRIPT = """
import os, signal, sys
from tapserver.web.coverage import _child_pool
pool = _child_pool()
print(pool.submit(os.getpid).result(), flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # as `kill -9` of a server: no pool shutdown
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in status)
    except FileNotFoundError:
        return False


def test_child_exits_when_the_server_is_killed() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    child = int(result.stdout.split()[0])
    assert child != os.getpid()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = _alive(child)
    if alive:
        os.kill(child, 9)
    assert not alive, "the spawned coverage child outlived its killed parent"


def test_order_drops_as_the_archive_grows() -> None:
    from tapserver.web.coverage import FULL_ORDER_FOOTPRINTS, MIN_ORDER, MOC_ORDER, coverage_order

    assert coverage_order(0) == coverage_order(FULL_ORDER_FOOTPRINTS) == MOC_ORDER
    assert coverage_order(FULL_ORDER_FOOTPRINTS + 1) == MOC_ORDER - 1
    assert coverage_order(4 * FULL_ORDER_FOOTPRINTS) == MOC_ORDER - 2
    assert coverage_order(1_000_000) == MIN_ORDER == coverage_order(10**9)
    assert coverage_order(10**6, order=3) == 3  # never above the order asked for
