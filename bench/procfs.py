"""Reading /proc: memory and CPU of processes (Linux), for the benchmarks that measure a server or themselves.

VmHWM rather than ru_maxrss for peaks: Linux carries ru_maxrss across fork+exec, so a child would report its
parent's peak.
"""

from __future__ import annotations

import os


def status_mb(pid: int | str, key: str) -> float | None:
    """A memory line of /proc/<pid>/status (``VmHWM``, ``VmRSS``...) in MB; None if there is no such
    process or line. ``pid`` may be ``"self"``."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants, from /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rss_mb(pids: list[int]) -> float:
    """Summed resident memory (VmRSS) of the processes (one that exited meanwhile counts 0)."""
    return sum(status_mb(pid, "VmRSS") or 0.0 for pid in pids)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the given processes (a process that exited meanwhile is left out)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            continue
    return total / ticks
