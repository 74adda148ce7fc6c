"""`make bench`: run every benchmark and print one table of ratios to in-process baselines."""

from __future__ import annotations

import platform

from rich.console import Console
from rich.table import Table

from . import validate_code


def main() -> None:
    table = Table(title=f"ipg-validator benchmarks ({platform.python_implementation()} {platform.python_version()}, {platform.machine()})")
    for column in ("benchmark", "median µs/op", "min", "max", "baseline µs/op", "ratio (median)"):
        table.add_column(column, justify="right" if column != "benchmark" else "left")
    for name, timing, base in validate_code.run():
        table.add_row(
            name, f"{timing.median * 1e6:.2f}", f"{timing.low * 1e6:.2f}", f"{timing.high * 1e6:.2f}",
            f"{base.median * 1e6:.2f}", f"{timing.median / base.median:.1f}x",
        )
    Console(width=120).print(table)
    print("Baseline: a bare dict membership test of the normalised code, in the same process.")


if __name__ == "__main__":
    main()
