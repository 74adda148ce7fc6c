"""One Spark JVM per test module: pyspark keeps its Java gateway for the life of the Python process, so a
second module's SparkSession (Pathling's jars, another JDK) would silently reuse the first one's JVM."""

from __future__ import annotations

import gc
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


def end_spark_jvm() -> None:
    """Stop the active SparkContext and the JVM behind it, so that the next session starts its own."""
    try:
        from pyspark import SparkContext
    except ImportError:
        return
    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    proc = getattr(gateway, "proc", None)
    gateway.shutdown()
    if proc is not None:
        if proc.stdin is not None:
            proc.stdin.close()  # spark-submit ends itself when its stdin closes
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
    SparkContext._gateway = None
    SparkContext._jvm = None


@contextmanager
def pyspark_sockets_left_open() -> Iterator[None]:
    """pyspark 4.0 leaves the socket of each result it reads from the JVM (`collect()`, and the partition
    counts `zipWithIndex()` collects) for the garbage collector to close: that ResourceWarning is pyspark's,
    not ours, so it alone is silenced here, with the collector run before the filter is lifted."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        yield
        gc.collect()
