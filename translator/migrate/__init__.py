"""Batch migration of stored transcripts: JSONL in, JSONL out, one record per line, constant memory.

* :mod:`.batch`: the batch loop, worker processes, rejects and the summary;
* :mod:`.stored_records`: what one stored record holds and how it converts;
* :mod:`.file_io`: input and output files (``-``, compression by extension, atomic output);
* :mod:`.dask`: the same per-record converter on a Dask cluster (the ``dask`` extra).

``translator.migrate`` exports the public names of :mod:`.batch`.
"""

from __future__ import annotations

from .batch import (
    BATCH_BYTES,
    BatchResult,
    Direction,
    MigrateOptions,
    MigrationFailed,
    MigrationReport,
    Progress,
    RecordResult,
    RejectLimit,
    convert_batch,
    convert_record,
    default_rejects,
    format_summary,
    migrate_file,
    migrate_lines,
    reject_entry,
)

__all__ = [
    "BATCH_BYTES",
    "BatchResult",
    "Direction",
    "MigrateOptions",
    "MigrationFailed",
    "MigrationReport",
    "Progress",
    "RecordResult",
    "RejectLimit",
    "convert_batch",
    "convert_record",
    "default_rejects",
    "format_summary",
    "migrate_file",
    "migrate_lines",
    "reject_entry",
]
