"""Batch migration of stored transcripts: JSONL in, JSONL out, one record per line, constant memory.

Record formats (one JSON value per line; blank lines are skipped and not counted):

============================  =============================================  ==========================
direction                     input line                                     output line
============================  =============================================  ==========================
``chat-to-responses``         ``[message, ...]`` (bare Chat messages)        ``[item, ...]``
                              ``{"messages": [...]}``                        ``{"input": [...]}``
                              ``{"messages": [...], "model": ..., ...}``     a Responses request
``responses-to-chat``         ``[item, ...]`` (bare input items)             ``[message, ...]``
                              ``{"input": ..., "instructions"?: ...}``       ``{"messages": [...]}``
                              ``{"input": ..., "model": ..., ...}``          a Chat request
============================  =============================================  ==========================

A record that cannot be converted is written to the rejects file as
``{"line": n, "reason": "...", "record": "<the raw line>"}`` (``n`` counts from 1) and the run goes
on; ``read == written + rejected`` always holds.  Output and rejects are written to temporary files
in the destination's folder and moved into place with ``os.replace`` only when the whole input was
read, so a crash or an interrupt never leaves a partial output file behind.

The core, :func:`migrate_lines`, is pure (lines in, results out); :func:`migrate_file` adds the
files and an optional progress bar on stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from .errors import ConversionError, TranslatorError
from .ids import IdSource, random_id
from .requests import chat_request_to_responses, responses_request_to_chat
from .transcripts import input_to_messages, messages_to_input

__all__ = [
    "Direction",
    "MigrationReport",
    "Progress",
    "RecordResult",
    "convert_record",
    "migrate_file",
    "migrate_lines",
]

Direction = Literal["chat-to-responses", "responses-to-chat"]


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """Counts of one migration run; ``read == written + rejected``."""

    read: int
    written: int
    rejected: int

    @property
    def reconciles(self) -> bool:
        return self.read == self.written + self.rejected


@dataclass(frozen=True, slots=True)
class RecordResult:
    """One input line's fate: ``output`` (a JSONL line, newline included) or a ``reason`` it was rejected."""

    line: int
    output: bytes | None = None
    reason: str | None = None
    #: the raw input line of a rejected record (kept for the rejects file)
    record: bytes | None = None


def convert_record(
    record: Any, direction: Direction, *, lenient: bool = False, ids: IdSource = random_id
) -> Any:
    """Convert one stored transcript or request (see the module docstring for the formats)."""
    if direction == "chat-to-responses":
        if isinstance(record, list):
            return messages_to_input(record, lenient=lenient, ids=ids)
        if isinstance(record, dict) and "messages" in record:
            if set(record) == {"messages"}:
                return {"input": messages_to_input(record["messages"], lenient=lenient, ids=ids)}
            return chat_request_to_responses(record, lenient=lenient, ids=ids)
        raise ConversionError("expected a list of Chat messages or an object with 'messages'")
    if direction == "responses-to-chat":
        if isinstance(record, list):
            return input_to_messages(record, lenient=lenient)
        if isinstance(record, dict) and ("input" in record or "instructions" in record):
            if set(record) <= {"input", "instructions"}:
                messages = input_to_messages(
                    record.get("input", []), instructions=record.get("instructions"), lenient=lenient
                )
                return {"messages": messages}
            return responses_request_to_chat(record, lenient=lenient)
        raise ConversionError("expected a list of input items or an object with 'input'")
    raise ValueError(f"unknown direction {direction!r}")


def migrate_lines(
    lines: Iterable[bytes], direction: Direction, *, lenient: bool = False, ids: IdSource = random_id
) -> Iterator[RecordResult]:
    """Convert JSONL lines one at a time; bad records become results with a ``reason``.

    Only the library's own errors (bad JSON, bad UTF-8, :class:`TranslatorError`) reject a record;
    anything else is a bug and propagates.
    """
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            with warnings.catch_warnings(record=True) as dropped:
                warnings.simplefilter("always")
                converted = convert_record(orjson.loads(raw), direction, lenient=lenient, ids=ids)
            for warning in dropped:  # say which record each dropped value came from
                warnings.warn_explicit(
                    f"line {number}: {warning.message}", warning.category, warning.filename, warning.lineno
                )
        except orjson.JSONDecodeError as exc:
            yield RecordResult(number, reason=f"invalid JSON: {exc}", record=raw)
        except TranslatorError as exc:
            yield RecordResult(number, reason=str(exc), record=raw)
        else:
            yield RecordResult(number, output=orjson.dumps(converted) + b"\n")


class Progress:
    """A one-line progress bar on a text stream, redrawn at most every ``interval`` seconds."""

    def __init__(
        self,
        total: int,
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


@contextlib.contextmanager
def _atomic_writer(destination: Path) -> Iterator[IO[bytes]]:
    """A temporary file next to ``destination``, moved onto it only if the block finishes."""
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, on every path
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            yield handle
        os.replace(handle.name, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)
        raise


def migrate_file(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    *,
    direction: Direction,
    rejects: str | os.PathLike[str] | None = None,
    lenient: bool = False,
    progress: bool | None = None,
    progress_stream: IO[str] | None = None,
    ids: IdSource = random_id,
) -> MigrationReport:
    """Migrate a JSONL file of transcripts, streaming line by line.

    Args:
        source: the JSONL file to read.
        destination: the JSONL file to write (replaced atomically at the end).
        direction: ``"chat-to-responses"`` or ``"responses-to-chat"``.
        rejects: where rejected records go (default: ``<destination>.rejects.jsonl``); also written
            atomically, even when empty, so a run always says how many records failed.
        lenient: drop values with no equivalent (with warnings) instead of rejecting the record.
        progress: show a progress bar on stderr; ``None`` shows it only when stderr is a terminal.
        progress_stream: where the bar goes (default ``sys.stderr``).
        ids: id source for synthesized ids.
    """
    source_path = Path(source)
    destination_path = Path(destination)
    rejects_path = (
        Path(rejects)
        if rejects is not None
        else destination_path.with_name(destination_path.name + ".rejects.jsonl")
    )
    stream = progress_stream if progress_stream is not None else sys.stderr
    show = stream.isatty() if progress is None else progress
    bar = Progress(source_path.stat().st_size, stream) if show else None
    read = written = rejected = 0
    consumed = [0]  # bytes of input read so far (the progress bar's position)

    def lines(reader: IO[bytes]) -> Iterator[bytes]:
        for raw in reader:
            consumed[0] += len(raw)
            yield raw

    with (
        source_path.open("rb") as reader,
        _atomic_writer(destination_path) as out,
        _atomic_writer(rejects_path) as bad,
    ):
        for result in migrate_lines(lines(reader), direction, lenient=lenient, ids=ids):
            read += 1
            if result.output is not None:
                out.write(result.output)
                written += 1
            else:
                text = (result.record or b"").rstrip(b"\r\n").decode("utf-8", errors="replace")
                bad.write(
                    orjson.dumps({"line": result.line, "reason": result.reason, "record": text}) + b"\n"
                )
                rejected += 1
            if bar is not None:
                bar.update(consumed[0], read, rejected)
    if bar is not None:
        bar.finish(consumed[0], read, rejected)
    return MigrationReport(read=read, written=written, rejected=rejected)
