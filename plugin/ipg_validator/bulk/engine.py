"""The embedded engine: DuckDB holds the export's lines on disk, groups them by encounter and hands
them back in encounter order, within a memory limit (it spills to its temp directory past it)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ..core.models import R4_ONLY, model_class
from .export import ExportFile
from .judge import Line
from .reader import Tally, batches

READ = ("Encounter", "Patient", "Procedure", "Condition")  # the types an encounter's Bundle is made of
FETCH_ROWS = 10_000

# A reference's `Type/id` as the Bundle code resolves it: relative only (no fullUrls in an export), without
# its _history part; absolute URLs, urn: and contained (#) references point at nothing in the export.
_MACROS = """
CREATE OR REPLACE MACRO refkey(ref) AS CASE WHEN ref IS NULL OR ref = '' OR ref LIKE '#%' OR ref LIKE 'urn:%'
    OR contains(ref, '://') THEN NULL ELSE rtrim(split_part(ref, '/_history/', 1), '/') END;
CREATE OR REPLACE MACRO orphan(file, line) AS '~' || lpad(file::VARCHAR, 6, '0') || ':' || lpad(line::VARCHAR, 12, '0');
"""
_TABLE = """CREATE TABLE r (file INTEGER, line BIGINT, kind VARCHAR, id VARCHAR, enc VARCHAR, subj VARCHAR,
    listed VARCHAR[], text VARCHAR, problem VARCHAR)"""
_INSERT = f"""
INSERT INTO r SELECT file, line, f[1], f[2], refkey(f[3]), refkey(f[4]),
    CASE WHEN f[1] = 'Encounter' THEN list_transform(try(json_extract_string(text, '$.diagnosis[*].condition.reference')), lambda x: refkey(x)) END,
    CASE WHEN f[1] IS NULL OR f[1] IN {READ} THEN text END,
    coalesce(problem, CASE WHEN f IS NULL THEN 'not JSON' WHEN f[1] IS NULL THEN 'no resourceType' END)
FROM (SELECT *, CASE WHEN text IS NOT NULL THEN try(json_extract_string(text, ['$.resourceType', '$.id', '$.encounter.reference', '$.subject.reference'])) END AS f FROM batch)
"""
# Each Procedure and Condition goes to its own encounter when that is in the export, else to the (first)
# encounter listing it in `diagnosis`, else it is a group of its own; each group also takes its Patients.
_MEMBERS = """
WITH enc AS (SELECT 'Encounter/' || id AS k FROM r WHERE kind = 'Encounter' AND id IS NOT NULL GROUP BY 1),
listed AS (SELECT t.ref AS target, arg_min('Encounter/' || r.id, (r.file, r.line)) AS k
           FROM r, unnest(r.listed) AS t(ref) WHERE r.kind = 'Encounter' AND r.id IS NOT NULL AND t.ref IS NOT NULL GROUP BY 1),
members AS (
    SELECT CASE WHEN id IS NOT NULL THEN 'Encounter/' || id ELSE orphan(file, line) END AS g, 0 AS role, file, line, kind, text, subj
    FROM r WHERE kind = 'Encounter'
    UNION ALL
    SELECT coalesce(enc.k, listed.k, orphan(c.file, c.line)),
        CASE WHEN enc.k IS NULL AND listed.k IS NULL THEN 0 WHEN c.kind = 'Procedure' THEN 2 ELSE 3 END, c.file, c.line, c.kind, c.text, c.subj
    FROM r AS c LEFT JOIN enc ON enc.k = c.enc LEFT JOIN listed ON listed.target = c.kind || '/' || c.id
    WHERE c.kind IN ('Procedure', 'Condition'))"""
_GROUPED = _MEMBERS + """,
patients AS (
    SELECT s.g, 1 AS role, p.file, p.line, p.kind, p.text, NULL AS subj
    FROM (SELECT DISTINCT g, subj FROM members WHERE subj LIKE 'Patient/%') AS s
    JOIN r AS p ON p.kind = 'Patient' AND p.id IS NOT NULL AND 'Patient/' || p.id = s.subj)
SELECT g, kind, file, line, text FROM (SELECT * FROM members UNION ALL SELECT * FROM patients) ORDER BY g, role, file, line
"""


@dataclass
class Loaded:
    """What the export holds, counted before validation starts."""

    lines: int = 0
    blank: int = 0
    kinds: dict[str, int] = field(default_factory=dict)  # resource lines per type, read or not
    encounters: int = 0
    groups: int = 0
    dangling: int = 0  # Procedures and Conditions whose encounter is not in the export
    mismatched: list[str] = field(default_factory=list)  # files holding lines of another type than they declare


class Store:
    """One DuckDB database in a work folder: the lines, then the groups."""

    def __init__(self, files: Sequence[ExportFile], workdir: Path, *, memory_limit: str = "512MB", threads: int | None = None) -> None:
        self.files = list(files)
        self.names = [f.name for f in self.files]
        self.con = duckdb.connect(str(workdir / "bulk.duckdb"))
        threads = threads or os.cpu_count() or 1
        self.con.execute(f"SET memory_limit = '{memory_limit}'; SET threads = {int(threads)}; SET preserve_insertion_order = false")
        self.con.execute("SET temp_directory = ?", [str(workdir / "spill")])
        self.con.execute(_MACROS)
        self.con.execute(_TABLE)

    def close(self) -> None:
        self.con.close()

    def load(self, progress: Callable[[int], None] | None = None) -> Loaded:
        """Read every file into the database and count what it holds."""
        tally = Tally()
        for batch in batches(self.files, tally, progress):  # noqa: B007 (read by name in the SQL)
            self.con.execute(_INSERT)
        loaded = Loaded(lines=tally.lines, blank=tally.blank)
        loaded.kinds = dict(self.con.execute("SELECT kind, count(*) FROM r WHERE kind IS NOT NULL GROUP BY 1 ORDER BY 1").fetchall())
        loaded.encounters = loaded.kinds.get("Encounter", 0)
        loaded.dangling = self.con.execute(
            "SELECT count(*) FROM r AS c WHERE c.kind IN ('Procedure', 'Condition') AND c.enc IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM r AS e WHERE e.kind = 'Encounter' AND 'Encounter/' || e.id = c.enc)").fetchall()[0][0]
        for number, declared in enumerate(f.declared for f in self.files):
            if declared is None:
                continue
            other = self.con.execute("SELECT count(*), min(line) FROM r WHERE file = ? AND kind IS NOT NULL AND kind <> ?", [number, declared]).fetchall()[0]
            if other and other[0]:
                loaded.mismatched.append(f"{self.names[number]}: {other[0]} line{'s' if other[0] != 1 else ''} not {declared} (first at line {other[1]}), read as the type they name")
        return loaded

    def unknown_kinds(self, kinds: Sequence[str]) -> list[str]:
        return [k for k in kinds if model_class(k) is None and k not in R4_ONLY]

    def problems(self, unknown: Sequence[str]) -> Iterator[tuple[Line, str]]:  # text None: not kept
        """Lines that are no resource the export can hold (not UTF-8, not JSON, no or an unknown resourceType)."""
        rows = self.con.execute("SELECT file, line, coalesce(kind, ''), text, problem FROM r WHERE problem IS NOT NULL OR list_contains(?, kind) ORDER BY file, line", [list(unknown)]).fetchall()
        for file, line, kind, text, problem in rows:
            yield Line(kind or "Resource", self.names[file], line, text), problem or f"unknown resourceType {kind!r}"

    def count_groups(self) -> int:
        return int(self.con.execute(_MEMBERS + " SELECT count(DISTINCT g) FROM members").fetchall()[0][0])

    def groups(self) -> Iterator[list[Line]]:
        """Each group's lines, groups in key order (encounters first), the main resource first in each."""
        reader = self.con.sql(_GROUPED).to_arrow_reader(FETCH_ROWS)
        current: str | None = None
        lines: list[Line] = []
        names = self.names
        for batch in reader:
            columns = [batch.column(i).to_pylist() for i in range(5)]
            for g, kind, file, line, text in zip(*columns):
                if g != current:
                    if lines:
                        yield lines
                    current, lines = g, []
                lines.append(Line(kind, names[file], line, text))
        if lines:
            yield lines
