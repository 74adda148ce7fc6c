"""`ipg_validator.spark` in local[2]: the same findings as the embedded engine, row for row, on the
examples, on a synthetic export and on an export of broken lines.

Needs pyspark (the `spark` extra, in the test extras) and Java 17: skipped with the reason when one is
missing, a failure under CI=true."""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from ipg_validator.bulk.run import Options, run_export
from support.bulk_export import example_resources, synthetic, write_export
from support.jvm import end_spark_jvm, pyspark_sockets_left_open

from conftest import ROOT


def _missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Java is not installed (Spark needs Java 17)"
    return None


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    reason = _missing()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + "; under CI=true the Spark path must be tested")
        pytest.skip(reason)
    from pyspark.sql import SparkSession

    end_spark_jvm()  # a JVM another module started (Pathling's) would be reused otherwise
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers import ipg_validator from this environment
    session = (SparkSession.builder.master("local[2]").appName("ipg-validator-test")
               .config("spark.pyspark.python", sys.executable).config("spark.pyspark.driver.python", sys.executable)
               .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.sql.shuffle.partitions", "4").config("spark.default.parallelism", "2")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    end_spark_jvm()


def embedded(path: Path, index: Any) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    run_export(path, io.BytesIO(), index, Options(workers=1), on_judged=lambda j: found.extend(tuple(f) for f in j.findings))
    return sorted(found)


def on_spark(spark: Any, path: Path) -> list[tuple[Any, ...]]:
    from ipg_validator.spark import findings, read_export

    with pyspark_sockets_left_open():
        return sorted(tuple(row) for row in findings(read_export(spark, path)).collect())


def test_spark_finds_what_the_embedded_engine_finds(spark: Any, index: Any, tmp_path: Path) -> None:
    examples = sorted(p for p in (ROOT / "guidance" / "ipg672" / "examples").glob("*.json") if not p.name.endswith(".expected.json"))
    resources = [r for _, _, r in example_resources((p.stem, orjson.loads(p.read_bytes())) for p in examples)]
    resources += list(synthetic(300, sirt_share=0.1))
    folder = write_export(tmp_path / "export", resources, files_per_type=2, gz=True)
    (folder / "Encounter.broken.ndjson").write_bytes(b'not json\n\n{"resourceType": "Foo"}\n{"id": 1}\n'
                                                     + orjson.dumps({"resourceType": "Procedure", "id": "lost", "encounter": {"reference": "Encounter/nowhere"},
                                                                     "code": {"coding": [{"system": "http://fhir.hl7.org.uk/CodeSystem/OPCS-4", "code": "J12.3"}]}}) + b"\n")
    expected = embedded(folder, index)
    got = on_spark(spark, folder)
    assert len(expected) > 1500
    assert got == expected
    rules = {row[6] for row in got}
    assert {"ipg672-companion-required", "ipg672-summary", "ipg672-unresolved-reference", "invalid-data"} <= rules
