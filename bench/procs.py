"""Reading a server's processes from /proc: the process tree and per-process memory figures."""

from __future__ import annotations

import os


def process_tree(root: int) -> list[int]:
    """`root` and every process below it (uvicorn's workers, however they were started)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    todo += [int(child) for child in f.read().split()]
        except OSError:
            pass
    return found


def memory_mb(pids: list[int], source: str, field: str) -> dict[int, float]:
    """A kB figure of each live process, in MB: e.g. ("status", "VmRSS") or ("smaps_rollup", "Pss")."""
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/{source}") as f:
                for line in f:
                    if line.startswith(f"{field}:"):
                        out[pid] = int(line.split()[1]) / 1024
        except OSError:
            pass
    return out
