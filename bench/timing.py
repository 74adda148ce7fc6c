"""Repeat a workload and summarise it: median, min and max seconds per operation."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Seconds per operation over repeated rounds."""

    median: float
    low: float
    high: float


def measure(work: Callable[[], object], ops_per_call: int, *, rounds: int = 15, min_seconds: float = 0.05) -> Timing:
    """Time `work` (doing `ops_per_call` operations) in rounds long enough to be measurable."""
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            work()
        if time.perf_counter() - start >= min_seconds:
            break
        calls *= 2
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            work()
        samples.append((time.perf_counter() - start) / (calls * ops_per_call))
    return Timing(statistics.median(samples), min(samples), max(samples))
