"""Migrating stored transcripts on a Dask cluster: the per-record converter on many machines.

Needs the ``dask`` extra (``pip install 'chat-responses-translator[dask]'``: ``dask[bag]`` and
``distributed``).  Why Dask: it is pure Python and pip-installable (no JVM as for Spark, no
separate runtime as for Ray), a local cluster starts in about a second (so the tests run one), its
``dask.bag`` is exactly "a function over lines of text files", and it reads and writes through
fsspec, so sources and destinations can be local folders, a shared filesystem or object stores
(``s3://...``, with ``s3fs`` installed), compressed by extension.

Two entry points, both running :func:`translator.migrate.batch.convert_batch` (the converter every
migration uses) on each partition:

* :func:`migrate_bag` turns a bag of JSONL lines into two bags: the converted lines and the
  rejected records (the rejects-file entries of :mod:`translator.migrate.batch`, plus ``partition``).
  Line numbers count within a partition: with ``read_text(..., blocksize=None)`` a partition is
  one file, so they are the file's.
* :func:`migrate_files` migrates many files (one partition each) to a destination folder, one
  output and one rejects file per input file (``part-00003.jsonl``, ``part-00003.rejects.jsonl``),
  and returns the :class:`~translator.migrate.batch.MigrationReport` summed over every file.

Both use the current Dask scheduler: call them inside ``with distributed.Client(cluster):`` (or
pass ``client=``) to run on a cluster; without one Dask uses local threads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import partial
from typing import Any

import orjson

from .batch import Direction, MigrateOptions, MigrationReport, convert_batch, reject_entry

try:
    import dask.bag as db
    from dask.base import compute
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "translator.migrate.dask needs the dask extra: pip install 'chat-responses-translator[dask]'"
    ) from exc

__all__ = ["migrate_bag", "migrate_files"]


def _as_bytes(line: str | bytes) -> bytes:
    if isinstance(line, bytes):
        return line
    # read_text(errors="surrogateescape") keeps undecodable bytes as lone surrogates: give them back
    return line.encode("utf-8", "surrogateescape")


def _convert_partition(lines: Iterable[str | bytes], options: MigrateOptions) -> list[tuple[str, Any]]:
    """One partition: ("out", JSON line) per converted record, ("reject", entry) per rejected one."""
    raw = [_as_bytes(line) for line in lines]
    raw = [line if line.endswith(b"\n") else line + b"\n" for line in raw]
    batch = convert_batch(raw, 1, options)
    tagged: list[tuple[str, Any]] = [("out", line.decode()) for line in batch.output.splitlines()]
    tagged += [("reject", reject_entry(result)) for result in batch.rejects]
    tagged.append(("counts", _counts(batch)))
    return tagged


def _counts(batch: Any) -> dict[str, Any]:
    return {
        "read": batch.read,
        "written": batch.written,
        "rejected": batch.rejected,
        "rejected_by_reason": dict(batch.rejected_by_reason),
        "dropped_by_reason": dict(batch.dropped_by_reason),
        "warned_by_reason": dict(batch.warned_by_reason),
    }


def migrate_bag(
    lines: db.Bag,
    direction: Direction,
    *,
    lenient: bool = False,
    conversation_key: str | None = None,
    reasoning_field: str | None = "reasoning_content",
) -> tuple[db.Bag, db.Bag]:
    """(converted JSON lines, rejected records) of a bag of JSONL lines (str or bytes).

    The two bags share one graph: compute them together (``dask.compute(a, b)`` or two
    ``to_textfiles`` in one ``dask.compute``) and every partition is converted once.
    """
    options = MigrateOptions(direction, lenient, conversation_key, reasoning_field)
    tagged = lines.map_partitions(_convert_partition, options)
    converted = tagged.filter(partial(_tagged, tag="out")).map(_second)
    rejected = tagged.filter(partial(_tagged, tag="reject")).map(_second)
    return converted, rejected


def _tagged(item: tuple[str, Any], tag: str) -> bool:
    return item[0] == tag


def _sum(counts: Iterable[dict[str, Any]]) -> MigrationReport:
    read = written = rejected = 0
    by_reason: dict[str, Counter[str]] = {
        "rejected_by_reason": Counter(),
        "dropped_by_reason": Counter(),
        "warned_by_reason": Counter(),
    }
    for count in counts:
        read += count["read"]
        written += count["written"]
        rejected += count["rejected"]
        for key, counter in by_reason.items():
            counter.update(count[key])
    return MigrationReport(
        read, written, rejected, **{key: dict(counter.most_common()) for key, counter in by_reason.items()}
    )


def migrate_files(
    sources: str | list[str],
    destination: str,
    *,
    direction: Direction,
    lenient: bool = False,
    conversation_key: str | None = None,
    reasoning_field: str | None = "reasoning_content",
    storage_options: dict[str, Any] | None = None,
) -> MigrationReport:
    """Migrate JSONL files (a list, or a glob such as ``"s3://bucket/chats/*.jsonl.gz"``) into a folder.

    Each input file is one partition and gives ``<destination>/part-NNNNN.jsonl`` and
    ``part-NNNNN.rejects.jsonl`` (in the order of ``sources``; line numbers are the file's).
    Compression of the inputs is inferred from their extension.  Returns the summed report.
    """
    options = MigrateOptions(direction, lenient, conversation_key, reasoning_field)
    lines = db.read_text(
        sources,
        blocksize=None,
        encoding="utf-8",
        errors="surrogateescape",
        storage_options=storage_options,
        linedelimiter="\n",
    )
    tagged = lines.map_partitions(_convert_partition, options)
    # one text per partition (the whole file), so that to_textfiles adds no separator of its own
    outputs = tagged.map_partitions(_file_text, "out").to_textfiles(
        f"{destination}/part-*.jsonl", name_function=_part, storage_options=storage_options, compute=False
    )
    rejects = tagged.map_partitions(_file_text, "reject").to_textfiles(
        f"{destination}/part-*.rejects.jsonl",
        name_function=_part,
        storage_options=storage_options,
        compute=False,
    )
    counts = tagged.filter(_is_counts).map(_second)
    _, _, totals = compute(outputs, rejects, counts)
    return _sum(totals)


def _part(number: int) -> str:
    return f"{number:05d}"


def _is_counts(item: tuple[str, Any]) -> bool:
    return item[0] == "counts"


def _second(item: tuple[str, Any]) -> Any:
    return item[1]


def _file_text(items: Iterable[tuple[str, Any]], kind: str) -> list[str]:
    """The partition's converted lines (``kind="out"``) or rejects-file lines, as one text."""
    if kind == "out":
        return ["".join(f"{value}\n" for tag, value in items if tag == "out")]
    return ["".join(orjson.dumps(value).decode() + "\n" for tag, value in items if tag == "reject")]
