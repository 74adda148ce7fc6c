"""The export's lines, numbered, in Arrow batches: every line is kept (blank ones counted), none parsed here."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator, Sequence
from typing import IO

import pyarrow as pa

from .export import ExportFile

BATCH_LINES = 20_000
SCHEMA = pa.schema([("file", pa.int32()), ("line", pa.int64()), ("text", pa.string()), ("problem", pa.string())])


class Tally:
    """What reading saw besides resources: blank lines, and bytes read (for progress)."""

    def __init__(self) -> None:
        self.blank = 0
        self.lines = 0


def open_export_file(file: ExportFile) -> IO[bytes]:
    """The file's bytes, gunzipped when its name ends in .gz (or it starts with gzip's magic)."""
    raw = file.path.open("rb")
    if file.gzipped or raw.peek(2)[:2] == b"\x1f\x8b":
        raw.close()
        return gzip.open(file.path, "rb")  # type: ignore[return-value]
    return raw


def batches(files: Sequence[ExportFile], tally: Tally, progress: Callable[[int], None] | None = None) -> Iterator[pa.RecordBatch]:
    """(file number, line number, text, problem) for every non-blank line of every file."""
    for number, file in enumerate(files):
        nums: list[int] = []
        texts: list[str | None] = []
        problems: list[str | None] = []
        n = 0
        with open_export_file(file) as fh:
            try:
                for n, raw in enumerate(fh, 1):
                    stripped = raw.strip()
                    if not stripped:
                        tally.blank += 1
                        continue
                    try:
                        texts.append(stripped.decode())
                        problems.append(None)
                    except UnicodeDecodeError as exc:
                        texts.append(None)
                        problems.append(f"The line is not UTF-8 (byte {exc.start + 1}): FHIR NDJSON is UTF-8")
                    nums.append(n)
                    if len(nums) >= BATCH_LINES:
                        tally.lines += len(nums)
                        yield _batch(number, nums, texts, problems)
                        if progress:
                            progress(len(nums))
                        nums, texts, problems = [], [], []
            except (OSError, EOFError) as exc:  # a truncated or corrupt .gz: the lines read so far count, the rest is one problem
                nums.append(n + 1)
                texts.append(None)
                problems.append(f"The file cannot be read past here: {exc}")
        if nums:
            tally.lines += len(nums)
            yield _batch(number, nums, texts, problems)
            if progress:
                progress(len(nums))


def _batch(number: int, nums: list[int], texts: list[str | None], problems: list[str | None]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [pa.array([number] * len(nums), pa.int32()), pa.array(nums, pa.int64()), pa.array(texts, pa.string()), pa.array(problems, pa.string())],
        schema=SCHEMA,
    )
