"""Pathling in local Spark for the interop test: what it needs (a Java 21+ JDK, the jars interop/pathling
builds, the `pathling` package) and a SparkSession that loads them from disk, with no network at start."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .jvm import end_spark_jvm

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "interop" / "pathling" / "target"
MIN_JAVA = 21  # Pathling 9.4 is compiled for Java 21 (class file 65)
JVM_DIRS = (Path("/usr/lib/jvm"), Path("/opt/java"), Path("/usr/local/lib/jvm"))


def java_major(home: Path) -> int | None:
    """The major version of the JDK at `home`, from its `release` file (None when it is not a JDK)."""
    try:
        text = (home / "release").read_text(errors="replace")
    except OSError:
        return None
    found = re.search(r'^JAVA_VERSION="(\d+)', text, re.MULTILINE)
    return int(found.group(1)) if found and (home / "bin" / "java").exists() else None


def java_home() -> Path | None:
    """A JDK of at least Java 21: $PATHLING_JAVA_HOME, else $JAVA_HOME, else the oldest such one installed."""
    for name in ("PATHLING_JAVA_HOME", "JAVA_HOME"):
        given = os.environ.get(name)
        if given and (java_major(Path(given)) or 0) >= MIN_JAVA:
            return Path(given)
    found = [(java_major(d), d) for base in JVM_DIRS if base.is_dir() for d in sorted(base.iterdir())]
    fitting = sorted((major, d) for major, d in found if major and major >= MIN_JAVA)
    return fitting[0][1] if fitting else None


def runtime_jar(version: str) -> Path:
    """Pathling's library-runtime jar at `version`, as interop/pathling copies it."""
    return TARGET / "pathling-jars" / f"library-runtime-{version}.jar"


def hadoop_jars() -> list[Path]:
    """The Hadoop client jars that run on Java 23+ (pyspark 4.0's own 3.4.1 does not)."""
    return sorted((TARGET / "hadoop-jars").glob("hadoop-client-*.jar"))


def missing() -> str | None:
    """Why Pathling cannot run here (None when it can)."""
    try:
        from pathling._version import __java_version__
    except ImportError:
        return "the pathling package is not installed (pip install -e '.[test]')"
    if java_home() is None:
        return f"no Java {MIN_JAVA}+ JDK found (set PATHLING_JAVA_HOME); Pathling {__java_version__} needs one"
    if not runtime_jar(__java_version__).exists():
        return f"{runtime_jar(__java_version__)} is missing: run `make interop-build`"
    if len(hadoop_jars()) < 2:
        return "the Hadoop client jars are missing from interop/pathling/target/hadoop-jars: run `make interop-build`"
    return None


@contextmanager
def spark_session(work: Path) -> Iterator[Any]:
    """A local, single-core SparkSession with Pathling's jar on spark.jars (no spark.jars.packages), stopped after."""
    from pathling._version import __java_version__
    from pyspark.sql import SparkSession

    end_spark_jvm()  # the JVM of an earlier module (Java 17, no Pathling jars) must not be reused
    env = {"JAVA_HOME": str(java_home()), "SPARK_LOCAL_IP": "127.0.0.1"}  # read once, when pyspark starts the JVM
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        spark = (
            SparkSession.builder.master("local[1]").appName("ipg-validator-pathling-interop")
            .config("spark.jars", str(runtime_jar(__java_version__)))
            .config("spark.driver.extraClassPath", os.pathsep.join(str(j) for j in hadoop_jars()))
            .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1")
            .config("spark.local.dir", str(work)).config("spark.sql.warehouse.dir", str(work / "warehouse"))
            .getOrCreate()
        )
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        end_spark_jvm()
