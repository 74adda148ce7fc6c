"""`make bench`: run every benchmark and print one table of ratios to in-process baselines."""

from __future__ import annotations

import platform

from rich.console import Console
from rich.table import Table

from . import bundle_validation, validate_code


def main() -> None:
    table = Table(title=f"ipg-validator benchmarks ({platform.python_implementation()} {platform.python_version()}, {platform.machine()})")
    for column in ("benchmark", "median µs/op", "min", "max", "baseline", "baseline µs/op", "ratio (median)"):
        table.add_column(column, justify="left" if column in ("benchmark", "baseline") else "right")
    rows = [(name, t, b, "dict membership of the normalised code") for name, t, b in validate_code.run()]
    for name, timing, base, base_name in rows + bundle_validation.run():
        table.add_row(
            name, f"{timing.median * 1e6:.1f}", f"{timing.low * 1e6:.1f}", f"{timing.high * 1e6:.1f}",
            base_name, f"{base.median * 1e6:.1f}", f"{timing.median / base.median:.2f}x",
        )
    Console(width=140).print(table)
    print("Every baseline runs in the same process, on the same input, in the same run.")


if __name__ == "__main__":
    main()
