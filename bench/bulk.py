"""`make bench-bulk`: `ipg-validator bulk` on generated exports (BULK_SIZES encounters, default
100,000 and 1,000,000), each beside the time to orjson.loads every line of the same files, its peak
memory (the VmRSS sum of the command's processes, sampled), and Spark local[2] on BULK_SPARK
encounters (default 100,000) against the embedded engine's findings on the same export.

Exports are generated into a temporary folder (BULK_TMP, default the system's) and deleted after.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from .procs import memory_mb, process_tree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from support.bulk_export import synthetic, write_export  # noqa: E402

FILES_PER_TYPE = 4


def parse_every_line(folder: Path) -> tuple[float, int]:
    """The baseline: read and orjson.loads every line of every file, in this process."""
    started, lines = time.perf_counter(), 0
    for path in sorted(folder.glob("*.ndjson")):
        with path.open("rb") as fh:
            for line in fh:
                orjson.loads(line)
                lines += 1
    return time.perf_counter() - started, lines


def run_command(folder: Path, out: Path) -> tuple[float, float, str]:
    """`ipg-validator bulk` as a user runs it: seconds, peak MB (VmRSS summed over its processes), summary."""
    command = [str(Path(sys.executable).parent / "ipg-validator"), "bulk", str(folder), "--output", str(out), "--temp-dir", str(folder.parent)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, sum(memory_mb(process_tree(proc.pid), "status", "VmRSS").values()))
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    summary = proc.stdout.read().decode() if proc.stdout else ""
    if proc.returncode not in (0, 1):
        raise SystemExit(f"ipg-validator bulk failed ({proc.returncode}):\n{summary}")
    return seconds, peak, summary


def digest(rows: list[tuple]) -> str:
    h = hashlib.sha256()
    for row in sorted(rows):
        h.update(orjson.dumps(list(row)))
    return h.hexdigest()[:16]


def spark_against_embedded(folder: Path) -> tuple[float, float, int, bool]:
    """Seconds for Spark local[2] and for the embedded engine in this process, findings, and whether they are equal."""
    from ipg_validator.bundle.validate import default_index
    from ipg_validator.bulk.run import Options, run_export
    from pyspark.sql import SparkSession

    from ipg_validator.spark import findings, read_export

    embedded: list[tuple] = []
    started = time.perf_counter()
    run_export(folder, io.BytesIO(), default_index(), Options(), on_judged=lambda j: embedded.extend(tuple(f) for f in j.findings))
    embedded_s = time.perf_counter() - started
    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (SparkSession.builder.master("local[2]").appName("ipg-validator-bench").config("spark.ui.enabled", "false")
             .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.memory", "2g")
             .config("spark.sql.shuffle.partitions", "8").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        started = time.perf_counter()
        got = [tuple(r) for r in findings(read_export(spark, folder)).toLocalIterator()]
        spark_s = time.perf_counter() - started
    finally:
        spark.stop()
    return spark_s, embedded_s, len(got), digest(got) == digest(embedded)


def main() -> None:
    sizes = [int(n) for n in os.environ.get("BULK_SIZES", "100000,1000000").split(",")]
    spark_n = int(os.environ.get("BULK_SPARK", "100000"))
    table = Table(title=f"ipg-validator bulk ({os.cpu_count()} CPUs; export: {FILES_PER_TYPE} NDJSON files per type, ~1% SIRT)")
    for column in ("figure", "value", "baseline", "baseline value", "ratio", "target"):
        table.add_column(column, justify="left" if column in ("figure", "baseline") else "right")
    peaks: dict[int, float] = {}
    work = Path(tempfile.mkdtemp(prefix="ipg-bench-bulk-", dir=os.environ.get("BULK_TMP")))
    try:
        for n in sizes:
            folder = work / f"export-{n}"
            started = time.perf_counter()
            write_export(folder, synthetic(n), files_per_type=FILES_PER_TYPE)
            generated = time.perf_counter() - started
            base, lines = parse_every_line(folder)
            seconds, peak, summary = run_command(folder, work / "out.ndjson")
            peaks[n] = peak
            size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
            table.add_row(f"bulk, {n:,} encounters ({lines:,} lines, {size:,.0f} MB; generated in {generated:.0f} s)", f"{seconds:,.1f} s",
                          "orjson.loads of every line", f"{base:,.1f} s", f"{seconds / base:.1f}x", "≤ 3x" + (" met" if seconds / base <= 3 else " MISSED"))
            table.add_row("  encounters per second", f"{n / seconds:,.0f}", "lines parsed per second", f"{lines / base:,.0f}", "", "")
            table.add_row("  peak memory (VmRSS, all processes)", f"{peak:,.0f} MB", "", "", "", "")
            if n == spark_n:
                spark_s, embedded_s, rows, equal = spark_against_embedded(folder)
                table.add_row(f"Spark local[2], {n:,} encounters ({rows:,} findings)", f"{spark_s:,.1f} s", "embedded, in process", f"{embedded_s:,.1f} s",
                              f"{spark_s / embedded_s:.1f}x", "findings equal: " + ("yes" if equal else "NO"))
                table.add_row("  encounters per second (Spark)", f"{n / spark_s:,.0f}", "", "", "", "")
            shutil.rmtree(folder)
            (work / "out.ndjson").unlink(missing_ok=True)
            print(summary.splitlines()[0] if summary else "", flush=True)
        if len(peaks) >= 2:
            small, big = min(peaks), max(peaks)
            ratio = peaks[big] / peaks[small]
            table.add_row(f"peak memory, {big:,} vs {small:,} encounters", f"{peaks[big]:,.0f} MB", f"at {small:,}", f"{peaks[small]:,.0f} MB",
                          f"{ratio:.2f}x", "≤ 1.2x" + (" met" if ratio <= 1.2 else " MISSED"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    Console(width=190).print(table)


if __name__ == "__main__":
    main()
