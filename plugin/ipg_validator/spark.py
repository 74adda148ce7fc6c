"""Apache Spark entry point: a FHIR Bulk Data export in, a DataFrame of findings out
(group, resource, file, line, severity, code, rule, expression, text), the same rows as `ipg-validator bulk`.

Needs the `spark` extra (`pip install 'ipg-validator[spark]'`). Lines are numbered per file, grouped by
encounter as the embedded engine groups them, and each group is judged by `bulk.judge` (the
`Bundle/$validate` code path) in `mapInArrow` over partitions sorted by group; the content is loaded once per executor process.

    spark-submit --master yarn $(python -c 'import ipg_validator.spark as s; print(s.__file__)') EXPORT OUT
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from .bulk.engine import READ
from .bulk.export import discover
from .bulk.judge import Line, judge, problem_text
from .content.index import ContentIndex
from .content.loader import load_content

LINES = "fileno INT, file STRING, line BIGINT, text STRING"
KEYED = "fileno INT, file STRING, line BIGINT, kind STRING, id STRING, enc STRING, subj STRING, listed ARRAY<STRING>, text STRING, problem STRING"
FINDINGS = "group STRING, resource STRING, file STRING, line BIGINT, severity STRING, code STRING, rule STRING, expression STRING, text STRING"


def read_export(spark: SparkSession, path: str | Path) -> DataFrame:
    """The export's non-blank lines, numbered per file: (fileno, file, line, text). PATH as for `bulk`,
    on a file system every executor sees (a shared mount, /dbfs, /Volumes)."""
    files = discover(Path(path))
    return read_lines(spark, [(f.name, str(f.path.resolve())) for f in files])


def read_lines(spark: SparkSession, files: Sequence[tuple[str, str]]) -> DataFrame:
    """(name, Hadoop path or URI) pairs, e.g. s3a:// or abfss:// files, read as numbered lines; .gz is gunzipped."""
    parts = []
    for number, (name, uri) in enumerate(files):
        rdd = spark.sparkContext.textFile(uri).zipWithIndex()
        parts.append(rdd.map(_numbered(number, name)).filter(lambda row: bool(row[3])))
    union = spark.sparkContext.union(parts) if parts else spark.sparkContext.emptyRDD()
    return spark.createDataFrame(union, LINES)


def _numbered(number: int, name: str) -> Callable[[tuple[str, int]], tuple[int, str, int, str]]:
    """(line, index) of file `number` as (file number, file name, line number, text)."""
    return lambda pair: (number, name, pair[1] + 1, pair[0].strip())


def findings(lines: DataFrame, *, content: Sequence[str] = (), structure: bool = False, profile: str | None = None) -> DataFrame:
    """Every finding of the export whose lines are `lines` (as `read_export` gives them)."""
    keyed = lines.mapInArrow(_keyed, KEYED).persist()
    ok = keyed.where(F.col("problem").isNull())
    enc = ok.where((F.col("kind") == "Encounter") & F.col("id").isNotNull()).select(F.concat(F.lit("Encounter/"), "id").alias("k"), "fileno", "line", "listed")
    known = enc.select("k").distinct()
    listed = (enc.select(F.explode("listed").alias("target"), "k", F.struct("fileno", "line").alias("at")).where(F.col("target").isNotNull())
              .groupBy("target").agg(F.min_by("k", "at").alias("listed_k")))
    orphan = F.concat(F.lit("~"), F.lpad(F.col("fileno").cast("string"), 6, "0"), F.lit(":"), F.lpad(F.col("line").cast("string"), 12, "0"))
    cols = ["g", "role", "fileno", "file", "line", "kind", "text", "subj"]
    encounters = ok.where(F.col("kind") == "Encounter").select(
        F.when(F.col("id").isNotNull(), F.concat(F.lit("Encounter/"), "id")).otherwise(orphan).alias("g"), F.lit(0).alias("role"), *cols[2:])
    coded = (ok.where(F.col("kind").isin("Procedure", "Condition"))
             .join(known, F.col("enc") == F.col("k"), "left")
             .join(listed, F.col("target") == F.concat("kind", F.lit("/"), "id"), "left")
             .select(F.coalesce("k", "listed_k", orphan).alias("g"), F.when(F.col("k").isNull() & F.col("listed_k").isNull(), 0).when(F.col("kind") == "Procedure", 2).otherwise(3).alias("role"), *cols[2:]))
    members = encounters.unionByName(coded)
    wanted = members.where(F.col("subj").startswith("Patient/")).select(F.col("g").alias("pg"), F.col("subj").alias("want")).distinct()
    patients = (ok.where((F.col("kind") == "Patient") & F.col("id").isNotNull()).join(wanted, F.concat(F.lit("Patient/"), "id") == F.col("want"))
                .select(F.col("pg").alias("g"), F.lit(1).alias("role"), "fileno", "file", "line", "kind", "text", F.lit(None).cast("string").alias("subj")))
    settings = (tuple(content), structure, profile)
    partitions = lines.sparkSession.sparkContext.defaultParallelism * 2
    grouped = members.unionByName(patients).repartition(partitions, "g").sortWithinPartitions("g", "role", "fileno", "line")
    judged = grouped.select("g", "kind", "file", "line", "text").mapInArrow(lambda batches: _judge_batches(batches, settings), FINDINGS)
    problems = keyed.where(F.col("problem").isNotNull()).select(
        F.concat("file", F.lit(" line "), F.col("line").cast("string")).alias("group"), F.concat("file", F.lit(" line "), F.col("line").cast("string")).alias("resource"),
        "file", "line", F.lit("error").alias("severity"), F.lit("structure").alias("code"), F.lit("invalid-data").alias("rule"), F.lit("").alias("expression"),
        F.col("problem").alias("text"))
    return problems.unionByName(judged)


@lru_cache(maxsize=4)
def _index(content: tuple[str, ...]) -> ContentIndex:
    """The content, loaded once per executor process (and per set of content folders)."""
    return load_content([Path(p) for p in content])


def _judge_batches(batches: Iterable[pa.RecordBatch], settings: tuple[tuple[str, ...], bool, str | None]) -> Iterator[pa.RecordBatch]:
    """A partition's rows, sorted by group: each run of one group judged as the embedded engine judges it."""
    content, structure, profile = settings
    index = _index(content)
    current: str | None = None
    lines: list[Line] = []
    for batch in batches:
        rows: list[Any] = []
        for g, kind, file, line, text in zip(*(batch.column(i).to_pylist() for i in range(5))):
            if g != current:
                if lines:
                    rows += judge(lines, index, structure=structure, profile=profile).findings
                current, lines = g, []
            lines.append(Line(kind, file, line, text))
        if rows:
            yield _findings_batch(rows)
    if lines:
        yield _findings_batch(judge(lines, index, structure=structure, profile=profile).findings)


def _findings_batch(rows: list[Any]) -> pa.RecordBatch:
    columns = list(zip(*rows))
    return pa.RecordBatch.from_arrays([pa.array(c, t) for c, t in zip(columns, _FINDINGS_ARROW.types)], schema=_FINDINGS_ARROW)


_FINDINGS_ARROW = pa.schema([(n, pa.int64() if n == "line" else pa.string()) for n in ("group", "resource", "file", "line", "severity", "code", "rule", "expression", "text")])


def _keyed(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Each line's type, id and references, read with orjson (the parser of the Bundle code path)."""
    names = ("fileno", "file", "line", "kind", "id", "enc", "subj", "listed", "text", "problem")
    for batch in batches:
        out: dict[str, list[Any]] = {name: [] for name in names}
        for fileno, file, line, text in zip(*(batch.column(i).to_pylist() for i in range(4))):
            kind = rid = enc = subj = None
            listed: list[str | None] | None = None
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError:
                value = None
            if isinstance(value, dict) and isinstance(value.get("resourceType"), str):
                kind, rid = value["resourceType"], _str(value.get("id"))
                enc, subj = _refkey(_ref(value.get("encounter"))), _refkey(_ref(value.get("subject")))
                if kind == "Encounter" and isinstance(value.get("diagnosis"), list):
                    listed = [_refkey(_ref(d.get("condition"))) for d in value["diagnosis"] if isinstance(d, dict)]
            problem = problem_text(text, kind) if kind is None or kind not in READ else None
            keep = kind in READ or problem is not None
            for name, item in zip(names, (fileno, file, line, kind, rid, enc, subj, listed, text if keep else None, problem)):
                out[name].append(item)
        yield pa.RecordBatch.from_pydict(out, schema=_KEYED_ARROW)


_KEYED_ARROW = pa.schema([("fileno", pa.int32()), ("file", pa.string()), ("line", pa.int64()), ("kind", pa.string()), ("id", pa.string()),
                          ("enc", pa.string()), ("subj", pa.string()), ("listed", pa.list_(pa.string())), ("text", pa.string()), ("problem", pa.string())])


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _ref(value: Any) -> str | None:
    return _str(value.get("reference")) if isinstance(value, dict) else None


def _refkey(ref: str | None) -> str | None:
    """A reference's `Type/id` as the Bundle code resolves it (the `refkey` macro of bulk/engine.py says the same)."""
    if not ref or ref.startswith(("#", "urn:")) or "://" in ref:
        return None
    return ref.split("/_history/")[0].rstrip("/")


def main(argv: Sequence[str]) -> int:
    """spark-submit ... spark.py EXPORT OUT: the findings as JSON lines under OUT, counts by rule on stdout."""
    if len(argv) != 2:
        print("usage: spark-submit .../ipg_validator/spark.py EXPORT OUT_FOLDER", file=sys.stderr)
        return 2
    spark = SparkSession.builder.appName("ipg-validator bulk").getOrCreate()
    found = findings(read_export(spark, argv[0])).persist()
    found.write.mode("overwrite").json(argv[1])
    for row in found.groupBy("rule", "severity").count().orderBy("severity", "rule").collect():
        print(f"{row['rule']:<40} {row['severity']:<12} {row['count']:>12,}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
