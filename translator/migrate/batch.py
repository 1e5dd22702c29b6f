"""Batch migration of stored transcripts: JSONL in, JSONL out, one record per line, constant memory.

Each line holds one record (:mod:`translator.migrate.stored_records`: a bare conversation, a request, or an
envelope whose other fields are kept); blank lines are skipped and not counted.  ``.gz`` and
``.zst`` files are read and written compressed, ``-`` is stdin / stdout (:mod:`translator.migrate.file_io`).

Theory of operation
-------------------
Lines are converted in batches, each the whole lines of about :data:`BATCH_BYTES` bytes (a longer
line is a batch of its own), by :func:`convert_batch`, a pure function of the lines and
:class:`MigrateOptions`: in this process (``jobs=1``), or in ``jobs`` worker processes, at most
``2 * jobs`` batches in flight, their results written in input order (the output is the same
whatever ``jobs`` is).  A batch's result is its output bytes, its rejected records and the counts
of what was rejected, dropped (lenient) or warned about, by reason.

With one job, this process reads the input in blocks of whole lines.  With several and a plain
(uncompressed, regular) file, each worker reads its own batch, the lines that *start* in a byte
range of the file (:func:`_read_range`), so that this process never touches the input: it only
hands out ranges and writes results.  A compressed input, stdin or a pipe is read here in blocks of
whole lines sent to the workers.  Workers number the lines of a batch from 1; this process knows
where each batch starts once the batches before it are done, and renumbers its rejects and notes.

A record that cannot be converted goes to the rejects file as one JSON line
``{"line": n, "reason": "...", "problems": [...], "record": "<the line>"}`` (``n`` counts from 1;
``problems`` lists every problem of the record, ``reason`` joins them).  ``record`` is the line
without its ``\\n``: ``record + "\\n"`` is the original line.  A line that is not valid UTF-8 has
``record_base64`` (the original bytes, base64) instead, and its reason names the byte and the column
of the first bad byte.  ``read == written + rejected`` always holds.

Output and rejects are written to temporary files next to their destinations and moved into place
at the end (:func:`translator.migrate.file_io.atomic_output`): an interrupted run leaves no partial file.  A
run *fails* (:class:`MigrationFailed`) when the first record is of the other protocol (the wrong
``direction``), when records were read but none could be converted, or when the rejects exceed
``max_rejects``: the output is then left as it was (not replaced) and the rejects file is written,
so that it says why.  An empty input is a success (an empty output).
"""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import sys
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from ..convert.drop_policy import DroppedParameterWarning, ToolPairingWarning
from ..engine.jsonio import dump_json, load_json
from ..errors import ConversionError, TranslatorError, WrongProtocolError
from ..ids import IdSource, random_id
from .file_io import (
    STDIO,
    Input,
    atomic_output,
    check_destination,
    check_source,
    open_input,
    remove_stale_temporaries,
)
from .stored_records import DIRECTIONS, Direction, convert_record

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

#: A batch holds the whole lines of about this many bytes (or one longer line).
BATCH_BYTES = 1 << 20

_BOM = b"\xef\xbb\xbf"
_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True, slots=True)
class MigrateOptions:
    """How every record of a run is converted (sent to worker processes, so it holds plain values)."""

    direction: Direction
    lenient: bool = False
    conversation_key: str | None = None
    reasoning_field: str | None = "reasoning_content"

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {self.direction!r}")


@dataclass(frozen=True, slots=True)
class RecordResult:
    """One input line's fate: ``output`` (a JSONL line, newline included) or why it was rejected."""

    line: int
    output: bytes | None = None
    reason: str | None = None
    #: the raw input line of a rejected record (kept for the rejects file)
    record: bytes | None = None
    #: every problem of a rejected record, as ``path: reason``
    problems: tuple[str, ...] = ()
    #: the reasons the summary counts: the problems with their indexes replaced by ``[*]``
    reason_keys: tuple[str, ...] = ()
    #: what a lenient conversion dropped, and the tool-pairing warnings, as ``path: reason``
    dropped: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    #: the record is of the other protocol
    wrong_protocol: bool = False


@dataclass(slots=True)
class BatchResult:
    """What one batch of lines gave: output bytes, rejected records, and counts by reason."""

    output: bytes = b""
    read: int = 0
    written: int = 0
    rejected: int = 0
    #: the rejected records of this batch, with their bytes (the totals of a run keep none)
    rejects: list[RecordResult] = field(default_factory=list)
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    dropped_by_reason: Counter[str] = field(default_factory=Counter)
    warned_by_reason: Counter[str] = field(default_factory=Counter)
    #: per-line messages for a verbose run: (line number, message)
    notes: list[tuple[int, str]] = field(default_factory=list)
    #: the first record read is of the other protocol
    first_is_wrong_protocol: bool = False
    #: how many lines the batch held (blank ones included)
    lines: int = 0

    def renumber(self, shift: int) -> None:
        """Add ``shift`` to the line numbers of the rejects and notes (a batch numbered from 1)."""
        if shift:
            self.rejects = [dataclasses.replace(r, line=r.line + shift) for r in self.rejects]
            self.notes = [(line + shift, note) for line, note in self.notes]


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """Counts of one migration run; ``read == written + rejected``.

    The ``*_by_reason`` counts name a path with its indexes as ``[*]`` and the reason, e.g.
    ``messages[*].name: 'name' has no equivalent in the target API``; one record with several
    problems counts under each.
    """

    read: int
    written: int
    rejected: int
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    warned_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def reconciles(self) -> bool:
        return self.read == self.written + self.rejected


@dataclass(frozen=True, slots=True)
class RejectLimit:
    """``--max-rejects``: a count (``count=N``: more than N rejects fail the run, which stops there)
    or a share of the records read (``percent=P``: judged at the end)."""

    count: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, text: str) -> RejectLimit:
        """``"100"`` or ``"2.5%"``; raises ``ValueError`` naming the text otherwise."""
        value = text.strip()
        try:
            if value.endswith("%"):
                percent = float(value[:-1])
                if not 0 <= percent <= 100:
                    raise ValueError
                return cls(percent=percent)
            count = int(value)
            if count < 0:
                raise ValueError
            return cls(count=count)
        except ValueError:
            raise ValueError(f"{text!r} is not a count (100) or a percentage (2.5%)") from None

    def exceeded(self, rejected: int, read: int, *, final: bool) -> bool:
        if self.count is not None:
            return rejected > self.count
        if self.percent is not None and final and read:
            return rejected * 100 > self.percent * read
        return False

    def __str__(self) -> str:
        return f"{self.count}" if self.count is not None else f"{self.percent:g}%"


class MigrationFailed(TranslatorError):
    """The run failed as a whole (wrong direction, nothing converted, too many rejects).

    The output was not replaced; the rejects file was written.  ``report`` has the counts.
    """

    def __init__(self, reason: str, report: MigrationReport) -> None:
        super().__init__(reason)
        self.reason = reason
        self.report = report


# -- converting lines ---------------------------------------------------------------------------------


def _key(problem: str) -> str:
    return _INDEX.sub("[*]", problem)


def _bad_utf8(raw: bytes) -> str | None:
    """Where the first invalid UTF-8 byte is (``byte N, column C``), or ``None`` if the line is valid."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        column = len(raw[: exc.start].decode("utf-8", errors="replace")) + 1
        return f"invalid UTF-8 at byte {exc.start + 1} (column {column}): {exc.reason}"
    return None


def _rejected(number: int, raw: bytes, problems: list[str], keys: list[str], **extra: Any) -> RecordResult:
    return RecordResult(
        number,
        reason="; ".join(problems),
        record=raw,
        problems=tuple(problems),
        reason_keys=tuple(keys),
        **extra,
    )


def _convert_line(number: int, raw: bytes, options: MigrateOptions, ids: IdSource) -> RecordResult:
    try:
        record = load_json(raw)  # a lone surrogate escape (an emoji cut in half) is kept, then repaired
    except ValueError as exc:
        bad = _bad_utf8(raw)
        if bad is not None:
            return _rejected(number, raw, [bad], ["invalid UTF-8"])
        where = getattr(exc, "colno", "?")
        reason = getattr(exc, "msg", str(exc))
        return _rejected(number, raw, [f"invalid JSON at column {where}: {reason}"], ["invalid JSON"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            converted = convert_record(
                record,
                options.direction,
                lenient=options.lenient,
                ids=ids,
                conversation_key=options.conversation_key,
                reasoning_field=options.reasoning_field,
            )
        except WrongProtocolError as exc:
            return _rejected(number, raw, [str(exc)], [_key(exc.reason)], wrong_protocol=True)
        except ConversionError as exc:
            problems = [str(p) for p in exc.problems]
            keys = [_key(f"{p.path}: {p.reason}" if p.path else p.reason) for p in exc.problems]
            return _rejected(number, raw, problems, keys)
        except TranslatorError as exc:
            return _rejected(number, raw, [str(exc)], [_key(str(exc))])
    dropped = tuple(
        str(w.message).removesuffix(" (dropped)") for w in caught if w.category is DroppedParameterWarning
    )
    warned = tuple(str(w.message) for w in caught if w.category is ToolPairingWarning)
    return RecordResult(number, output=dump_json(converted) + b"\n", dropped=dropped, warnings=warned)


def migrate_lines(
    lines: Iterable[bytes],
    direction: Direction,
    *,
    lenient: bool = False,
    ids: IdSource = random_id,
    conversation_key: str | None = None,
    reasoning_field: str | None = "reasoning_content",
    first_line: int = 1,
) -> Iterator[RecordResult]:
    """Convert JSONL lines one at a time; bad records become results with a ``reason``.

    Only the library's own errors (bad JSON, bad UTF-8, :class:`TranslatorError`) reject a record;
    anything else is a bug and propagates.  ``first_line`` is the number of the first line.
    """
    options = MigrateOptions(direction, lenient, conversation_key, reasoning_field)
    return _migrate_lines(lines, options, ids, first_line, first_line == 1)


def _migrate_lines(
    lines: Iterable[bytes], options: MigrateOptions, ids: IdSource, first_line: int, first_of_file: bool
) -> Iterator[RecordResult]:
    for number, raw in enumerate(lines, start=first_line):
        if first_of_file and number == first_line and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if raw.strip():
            yield _convert_line(number, raw, options, ids)


def convert_batch(
    lines: list[bytes],
    first_line: int,
    options: MigrateOptions,
    ids: IdSource = random_id,
    *,
    notes: bool = False,
    first_of_file: bool | None = None,
) -> BatchResult:
    """Convert one batch of lines (numbered from ``first_line``); the unit of work of a worker.

    ``notes``: also return a ``(line, message)`` per rejected record, dropped value and warning.
    ``first_of_file`` (default: ``first_line == 1``): the batch starts the file, so its first line
    may carry a byte-order mark, and a first record of the other protocol stops the batch.
    """
    if first_of_file is None:
        first_of_file = first_line == 1
    result = BatchResult(lines=len(lines))
    out: list[bytes] = []
    for record in _migrate_lines(lines, options, ids, first_line, first_of_file):
        first = result.read == 0 and first_of_file
        result.read += 1
        if record.output is not None:
            out.append(record.output)
            result.written += 1
        else:
            result.rejected += 1
            result.rejects.append(record)
            result.rejected_by_reason.update(record.reason_keys)
        result.dropped_by_reason.update(_key(d) for d in record.dropped)
        result.warned_by_reason.update(_key(w) for w in record.warnings)
        if first and record.wrong_protocol:  # the whole file is, most likely: stop at once
            result.first_is_wrong_protocol = True
            break
        if notes:
            if record.output is None:
                result.notes.append((record.line, f"rejected: {record.reason}"))
            result.notes += [(record.line, f"{d} (dropped)") for d in record.dropped]
            result.notes += [(record.line, w) for w in record.warnings]
    result.output = b"".join(out)
    return result


def _blocks(stream: IO[bytes]) -> Iterator[bytes]:
    """Whole lines, about BATCH_BYTES bytes at a time (a line longer than that is a block of its own).

    The reading process only reads and cuts at the last line end of each read: the converter splits
    and numbers the lines, so the work left here is a few large copies per block.
    """
    pieces: list[bytes] = []  # a line longer than one read, so far
    while data := stream.read(BATCH_BYTES):
        end = data.rfind(b"\n") + 1
        if not end:
            pieces.append(data)
            continue
        pieces.append(data[:end])
        yield b"".join(pieces)
        pieces = [data[end:]] if end < len(data) else []
    if pieces:  # the last line, without its line end
        yield b"".join(pieces)


def _read_range(path: str, offset: int, length: int) -> bytes:
    """The lines of the file ``path`` that start in the byte range ``[offset, offset + length)``.

    A line starts at 0 or after a line end; the last one is read to its end, past the range.  The
    ranges of a file, one after the other, give each of its lines once.
    """
    with open(path, "rb") as file:
        if offset:
            file.seek(offset - 1)
            file.readline()  # the rest of the line that started before (or the line end just before)
        start = file.tell()
        if start >= offset + length:
            return b""  # a line that started before covers the whole range
        data = file.read(offset + length - start)
        if data and not data.endswith(b"\n"):
            data += file.readline()
    return data


def _convert_block(
    block: bytes, first: bool, options: MigrateOptions, ids: IdSource, notes: bool
) -> BatchResult:
    """:func:`convert_batch` over the lines of ``block``, numbered from 1 (``first``: it starts the file)."""
    lines = block.split(b"\n")
    if not lines[-1]:
        lines.pop()  # after the last line end
    return convert_batch(lines, 1, options, ids, notes=notes, first_of_file=first)


def _convert_range(
    path: str, offset: int, length: int, options: MigrateOptions, ids: IdSource, notes: bool
) -> BatchResult:
    """The unit of work of a worker that reads its own batch: the lines starting in a byte range."""
    return _convert_block(_read_range(path, offset, length), offset == 0, options, ids, notes)


#: One batch to convert: the function, its arguments, and how far into the input it ends (in bytes).
_Work = tuple[Callable[..., BatchResult], tuple[Any, ...], int]


def _read_here(reader: Input, options: MigrateOptions, ids: IdSource, notes: bool) -> Iterator[_Work]:
    for number, block in enumerate(_blocks(reader.stream)):
        yield _convert_block, (block, number == 0, options, ids, notes), reader.position()


def _read_by_workers(
    path: str, size: int, options: MigrateOptions, ids: IdSource, notes: bool
) -> Iterator[_Work]:
    length = BATCH_BYTES
    for offset in range(0, size, length):
        yield _convert_range, (path, offset, length, options, ids, notes), min(offset + length, size)


def _ignore_sigint() -> None:  # pragma: no cover - runs in the worker processes
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles ^C and stops the pool


def _results(work: Iterator[_Work], jobs: int) -> Iterator[tuple[BatchResult, int]]:
    """Each batch's result and where it ends, in input order; ``jobs > 1``: in that many processes.

    Batches come numbered from 1; the results are renumbered here, in order, to their lines in the
    file (``BatchResult.lines`` says where the next one starts).
    """
    line = 1
    for batch, end in _converted(work, jobs):
        batch.renumber(line - 1)
        line += batch.lines
        yield batch, end


def _converted(work: Iterator[_Work], jobs: int) -> Iterator[tuple[BatchResult, int]]:
    if jobs <= 1:
        for function, arguments, end in work:
            yield function(*arguments), end
        return
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    executor = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_ignore_sigint)
    pending: deque[tuple[Future[BatchResult], int]] = deque()
    try:
        for function, arguments, end in work:
            pending.append((executor.submit(function, *arguments), end))
            if len(pending) >= 2 * jobs:  # bounded: memory stays constant whatever the file size
                future, done = pending.popleft()
                yield future.result(), done
        while pending:
            future, done = pending.popleft()
            yield future.result(), done
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


# -- progress -------------------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on a text stream, redrawn at most every ``interval`` seconds."""

    def __init__(
        self,
        total: int | None,
        stream: IO[str],
        *,
        interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        width: int = 30,
    ) -> None:
        self.total = total
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.width = width
        self._last = float("-inf")

    def update(self, done: int, records: int, rejected: int, *, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        if self.total is None:  # stdin: no size to measure against
            line = f"\r{records} records, {rejected} rejected"
        else:
            fraction = min(done / self.total, 1.0) if self.total else 1.0
            filled = int(fraction * self.width)
            bar = "#" * filled + "." * (self.width - filled)
            line = f"\r[{bar}] {fraction:4.0%} {records} records, {rejected} rejected"
        self.stream.write(line)
        self.stream.flush()

    def finish(self, done: int, records: int, rejected: int) -> None:
        self.update(done, records, rejected, force=True)
        self.stream.write("\n")
        self.stream.flush()


# -- files ----------------------------------------------------------------------------------------------


def reject_entry(result: RecordResult) -> dict[str, Any]:
    """The rejects-file entry of a rejected record: line, reason, problems, and the original line."""
    raw = (result.record or b"").removesuffix(b"\n")
    entry: dict[str, Any] = {"line": result.line, "reason": result.reason, "problems": list(result.problems)}
    try:
        entry["record"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        entry["record_base64"] = base64.b64encode(raw).decode("ascii")
    return entry


def _reject_line(result: RecordResult) -> bytes:
    return orjson.dumps(reject_entry(result)) + b"\n"


def default_rejects(destination: str) -> str:
    """``<destination>.rejects.jsonl`` (a compressed destination keeps its extension last)."""
    for suffix in (".gz", ".zst"):
        if destination.lower().endswith(suffix):
            return destination[: -len(suffix)] + ".rejects.jsonl" + destination[-len(suffix) :]
    return destination + ".rejects.jsonl"


def migrate_file(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    *,
    direction: Direction,
    rejects: str | os.PathLike[str] | None = None,
    lenient: bool = False,
    conversation_key: str | None = None,
    reasoning_field: str | None = "reasoning_content",
    max_rejects: RejectLimit | None = None,
    jobs: int = 1,
    progress: bool | None = None,
    progress_stream: IO[str] | None = None,
    log: Callable[[str], None] | None = None,
    notice: Callable[[str], None] | None = None,
    ids: IdSource = random_id,
) -> MigrationReport:
    """Migrate a JSONL file of stored records, streaming batch by batch (see the module docstring).

    Args:
        source: the JSONL file to read (``.gz``/``.zst`` decompressed; ``-`` for stdin).
        destination: the JSONL file to write (replaced atomically at the end; ``-`` for stdout).
        direction: ``"chat-to-responses"`` or ``"responses-to-chat"``.
        rejects: where rejected records go (default ``<destination>.rejects.jsonl``; required when
            the destination is stdout); written atomically, even when empty.
        lenient: drop values with no equivalent instead of rejecting the record.
        conversation_key: the envelope key of the conversation (:mod:`translator.migrate.stored_records`).
        reasoning_field: ``responses-to-chat``: the assistant field for reasoning (``None``: drop).
        max_rejects: fail the run past this many (or this share of) rejected records.
        jobs: worker processes (1: this process).  The output is the same for any value.
        progress: a progress bar on ``progress_stream``; ``None`` shows it only on a terminal.
        progress_stream: where the bar goes (default ``sys.stderr``).
        log: receives a line per rejected record, dropped value and tool-pairing warning
            (``line N: ...``); ``None``: no such lines.
        notice: receives a line per stale temporary file removed (left by a killed run).
        ids: id source for synthesized ids; with ``jobs > 1`` only the default ``random_id``.

    Raises:
        MigrationFailed: wrong direction, nothing converted, or too many rejects (see the module
            docstring); ``error.report`` has the counts.
        OSError: the source cannot be read, a destination cannot be written (checked first).
    """
    source_name, destination_name = os.fspath(source), os.fspath(destination)
    if rejects is None:
        if destination_name == STDIO:
            raise ValueError("the destination is stdout: name a rejects file")
        rejects = default_rejects(destination_name)
    rejects_name = os.fspath(rejects)
    if jobs > 1 and ids is not random_id:
        raise ValueError("jobs > 1 synthesizes ids in each worker: only the default random_id can be used")
    options = MigrateOptions(direction, lenient, conversation_key, reasoning_field)
    check_source(source_name)
    for name in (destination_name, rejects_name):
        check_destination(name)
        remove_stale_temporaries(name, report=notice)

    stream = progress_stream if progress_stream is not None else sys.stderr
    show = stream.isatty() if progress is None else progress
    totals = BatchResult()
    failure: str | None = None
    done = 0  # bytes of the input converted
    with open_input(source_name) as reader, atomic_output(rejects_name) as bad:
        bar = Progress(reader.size, stream) if show else None
        try:
            with atomic_output(destination_name) as out:
                notes = log is not None
                if jobs > 1 and reader.plain_file is not None:
                    work = _read_by_workers(reader.plain_file, reader.size or 0, options, ids, notes)
                else:
                    work = _read_here(reader, options, ids, notes)
                for batch, done in _results(work, jobs):
                    out.write(batch.output)
                    bad.write(b"".join(_reject_line(r) for r in batch.rejects))
                    _add(totals, batch)
                    if log is not None:
                        for line, note in batch.notes:
                            log(f"line {line}: {note}")
                    if bar is not None:
                        bar.update(done, totals.read, totals.rejected)
                    failure = _early_failure(totals, batch, max_rejects)
                    if failure is not None:
                        raise _Stop
                failure = _final_failure(totals, max_rejects)
                if failure is not None:
                    raise _Stop  # leaves the previous output as it was
        except _Stop:
            pass
        if bar is not None:
            bar.finish(done, totals.read, totals.rejected)
    report = MigrationReport(
        read=totals.read,
        written=totals.written,
        rejected=totals.rejected,
        rejected_by_reason=dict(totals.rejected_by_reason.most_common()),
        dropped_by_reason=dict(totals.dropped_by_reason.most_common()),
        warned_by_reason=dict(totals.warned_by_reason.most_common()),
    )
    if failure is not None:
        raise MigrationFailed(failure, report)
    return report


class _Stop(Exception):
    """Ends the run early; the output's atomic writer then removes its temporary file."""


def _add(totals: BatchResult, batch: BatchResult) -> None:
    """Add a batch's counts to the run's (the run keeps no record: its memory stays constant)."""
    totals.read += batch.read
    totals.written += batch.written
    totals.rejected += batch.rejected
    totals.rejected_by_reason.update(batch.rejected_by_reason)
    totals.dropped_by_reason.update(batch.dropped_by_reason)
    totals.warned_by_reason.update(batch.warned_by_reason)


def _early_failure(totals: BatchResult, batch: BatchResult, limit: RejectLimit | None) -> str | None:
    if batch.first_is_wrong_protocol:
        return f"line {batch.rejects[0].line}: {batch.rejects[0].reason}; nothing was converted"
    if limit is not None and limit.exceeded(totals.rejected, totals.read, final=False):
        return f"more than {limit} records rejected (stopped at line {batch.rejects[-1].line})"
    return None


def _final_failure(totals: BatchResult, limit: RejectLimit | None) -> str | None:
    if totals.read and not totals.written:
        return f"none of the {totals.read} records could be converted"
    if limit is not None and limit.exceeded(totals.rejected, totals.read, final=True):
        share = 100 * totals.rejected / totals.read
        return f"{totals.rejected} of {totals.read} records rejected ({share:.1f}%), more than {limit}"
    return None


#: The summary lists at most this many reasons per kind; the rest are counted on one line.
SUMMARY_REASONS = 20


def format_summary(
    report: MigrationReport, *, prog: str = "migrate", rejects: str | None = None, verbose: bool = False
) -> str:
    """The end-of-run summary: the counts, then rejects, drops and warnings counted by reason."""
    where = f" (rejects in {rejects})" if rejects and report.rejected else ""
    lines = [f"{prog}: read {report.read}, written {report.written}, rejected {report.rejected}{where}"]
    if not report.read:
        lines.append(f"{prog}: the input holds no record")
    sections = (
        ("rejected records", report.rejected_by_reason),
        ("dropped values (--lenient)", report.dropped_by_reason),
        ("tool pairing warnings", report.warned_by_reason),
    )
    for title, counts in sections:
        if not counts:
            continue
        lines.append(f"  {title}, by reason:")
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        lines += [f"  {count:>9,}  {reason}" for reason, count in ranked[:SUMMARY_REASONS]]
        if len(ranked) > SUMMARY_REASONS:
            rest = sum(count for _, count in ranked[SUMMARY_REASONS:])
            lines.append(f"  {rest:>9,}  ({len(ranked) - SUMMARY_REASONS} more reasons)")
    if not verbose and (report.rejected or report.dropped_by_reason or report.warned_by_reason):
        lines.append("  (--verbose: one line per record)")
    return "\n".join(lines) + "\n"
