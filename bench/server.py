"""`ipg-validator serve` as a user starts it, on a free loopback port: start, wait for /readyz, measure, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from .procs import memory_mb, process_tree

HOST = "127.0.0.1"
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """One `ipg-validator serve --workers N` process tree; stopped by `stop()` (also on error, via `with`)."""

    def __init__(self, workers: int = 2, content: Sequence[Path] = ()) -> None:
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        script = Path(sys.executable).with_name("ipg-validator")
        command = [str(script), "serve", "--workers", str(workers), "--port", str(self.port), "--host", HOST]
        for folder in content:
            command += ["--content", str(folder)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("IPG_") and k != "PROMETHEUS_MULTIPROC_DIR"}
        self.workers = workers
        self.started = time.perf_counter()
        self.log = tempfile.NamedTemporaryFile(prefix="ipg-bench-serve-", suffix=".log")  # the JSON log lines, as a user's terminal gets them
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds from start until /readyz first answers 200."""
        with httpx.Client(base_url=self.base, timeout=2.0) as client:
            while time.perf_counter() - self.started < timeout:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.process.returncode} before it was ready")
                try:
                    if client.get("/readyz").status_code == 200:
                        return time.perf_counter() - self.started
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
        raise RuntimeError(f"the server was not ready within {timeout} s")

    def wait_workers(self, timeout: float = 60.0) -> float:
        """Seconds from start until every worker has logged that its content is loaded and warm."""
        while time.perf_counter() - self.started < timeout:
            if Path(self.log.name).read_bytes().count(b"content loaded and warm") >= self.workers:
                return time.perf_counter() - self.started
            time.sleep(0.02)
        raise RuntimeError(f"not every worker was ready within {timeout} s")

    def pids(self) -> list[int]:
        """The serve process and every process under it."""
        return process_tree(self.process.pid)

    def worker_pids(self) -> list[int]:
        """The worker processes (forked or spawned): every child of the serve process but multiprocessing's resource tracker."""
        return [p for p in self.pids() if p != self.process.pid and "resource_tracker" not in _cmdline(p)]

    def rss_mb(self) -> dict[int, float]:
        """Resident memory (VmRSS) of each process of the server, in MB."""
        return memory_mb(self.pids(), "status", "VmRSS")

    def pss_mb(self) -> dict[int, float]:
        """Proportional set size of each process (Pss in /proc/PID/smaps_rollup), in MB: a page shared by n
        processes counts 1/n in each, so the sum is the memory the server really holds (VmRSS sums count
        shared pages once per process)."""
        return memory_mb(self.pids(), "smaps_rollup", "Pss")

    def cpu_seconds(self, pids: Sequence[int]) -> float:
        """User + system CPU seconds used so far by `pids`."""
        return cpu_seconds(pids)

    def stop(self) -> None:
        """SIGTERM to the serve process (uvicorn stops its workers); after 15 s, SIGKILL to its process group."""
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(timeout=5)
        finally:
            self.log.close()


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds used so far by `pids`."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / TICK


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
