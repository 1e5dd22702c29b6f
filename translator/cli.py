"""The ``translator`` command line: streams, objects, requests and transcripts, both ways.

Every subcommand reads a file or ``-`` (stdin).  Streams are SSE or JSON lines, sniffed from the first
non-blank byte.  Streaming subcommands (``translate``, ``normalize``) write each output frame as soon
as the input that produced it has been read, and flush after every read: piping a live stream through
``translator translate`` adds no buffering.

Exit codes::

    0  success
    1  validate found violations
    2  usage error (bad arguments)
    3  input error: the input cannot be read as a stream/object or cannot be translated
       (the message names the chunk or field, as :mod:`translator.errors` does); the input is
       of the other protocol (every verb checks); ``migrate`` converted nothing, met a record of
       the other protocol first, or rejected more than ``--max-rejects``
    4  file not found, or another I/O error (a destination that is a folder or in a missing one)
    130  interrupted (SIGINT, ^C)   143  terminated (SIGTERM): temporary files removed

A closed stdout (``translator ... | head``) ends the command quietly with status 0.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import IO, Any, NoReturn

from .engine.jsonio import dump_json, load_json
from .engine.sse import Done, StreamDecoder, encode_sse
from .errors import SSEError, TranslatorError
from .ids import Clock, IdSource, SequentialIds, fixed_clock, random_id, system_clock
from .migrate.file_io import MissingExtraError
from .wire.chat_sse import DONE_FRAME, ChatSSEWriter, chunk_frame, chunk_frames
from .wire.responses_sse import ResponsesSSEWriter, event_frame

__all__ = ["main"]

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_IO = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_TERMINATED = 143  # 128 + SIGTERM

_READ_SIZE = 1 << 16
_PROG = "translator"
#: ``--deterministic`` clock value: used only where the input carries no timestamp.
_FIXED_TIME = 0

Payload = dict[str, Any] | Done


class _InputError(Exception):
    """Input the CLI itself rejects (not JSON, wrong protocol); reported like a TranslatorError."""


# -- input ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _open_binary(name: str) -> Iterator[IO[bytes]]:
    if name == "-":
        yield sys.stdin.buffer
        return
    with open(name, "rb") as handle:
        yield handle


def _read_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    """What is available, up to 64 KiB at a time: ``read1`` returns without waiting for a full block."""
    read: Callable[[int], bytes] = getattr(handle, "read1", handle.read)
    while data := read(_READ_SIZE):
        yield data


class _Source:
    """Decoded payloads of one stream (SSE or JSONL); ``jsonl`` tells which, once known.

    Input is fed to the decoder a line at a time, so a payload that fails to decode raises only after
    every payload before it was handed out, and the error names its position (``chunk N``).
    """

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._decoder = StreamDecoder()
        self._count = 0  # payloads decoded so far: the number of the next chunk
        self.jsonl: bool | None = None

    def reads(self) -> Iterator[Iterator[Payload]]:
        """One iterator per read (the payloads that read completed), then one for the end of input."""
        for data in _read_chunks(self._handle):
            if self.jsonl is None:
                stripped = data.lstrip()
                if stripped:
                    self.jsonl = stripped.startswith((b"{", b"["))
            yield self._decode(data.splitlines(keepends=True))
        yield self._decode(None)

    @property
    def cut(self) -> bool:
        """The input ended inside a frame, which was discarded (see ``StreamDecoder.cut``)."""
        return self._decoder.cut

    def payloads(self) -> Iterator[Payload]:
        for batch in self.reads():
            yield from batch

    def _decode(self, lines: list[bytes] | None) -> Iterator[Payload]:
        try:
            if lines is None:
                yield from self._counted(self._decoder.close())
            else:
                for line in lines:
                    yield from self._counted(self._decoder.feed(line))
        except SSEError as exc:  # name the chunk the way StreamError does
            raise SSEError(f"chunk {self._count}: {exc}") from None

    def _counted(self, payloads: list[Payload]) -> list[Payload]:
        self._count += len(payloads)
        return payloads


def _read_json(name: str) -> Any:
    with _open_binary(name) as handle:
        data = handle.read()
    try:
        return load_json(data)
    except ValueError as exc:
        raise _InputError(f"{_display(name)}: invalid JSON: {exc}") from None


def _read_json_object(name: str) -> dict[str, Any]:
    value = _read_json(name)
    if not isinstance(value, dict):
        raise _InputError(f"{_display(name)}: expected a JSON object, got {type(value).__name__}")
    return value


def _read_tool_map(name: str) -> dict[str, dict[str, str]]:
    """A ``tool_map`` file: ``{chat name: {"type": ..., "name": ..., "namespace": ...}}``."""
    value = _read_json_object(name)
    for chat_name, entry in value.items():
        if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
            raise _InputError(f"{_display(name)}: {chat_name!r} must map to an object of strings")
        if entry.get("type") not in ("function", "custom", "tool_search"):
            raise _InputError(
                f"{_display(name)}: {chat_name!r}: type must be 'function', 'custom' or 'tool_search'"
            )
    return value


def _display(name: str) -> str:
    return "<stdin>" if name == "-" else name


def _is_responses_payload(payload: dict[str, Any]) -> bool:
    kind = payload.get("type")
    return isinstance(kind, str) and (kind.startswith("response.") or kind == "error")


def _detect_protocol(payload: Payload) -> str:
    if isinstance(payload, Done):
        return "chat"
    return "responses" if _is_responses_payload(payload) else "chat"


# -- output --------------------------------------------------------------------------------------


def _stdout() -> IO[bytes]:
    return sys.stdout.buffer


def _write_json(value: Any) -> None:
    out = _stdout()
    out.write(dump_json(value, indent=True) + b"\n")
    out.flush()


def _frame(payload: Payload, *, protocol: str, jsonl: bool) -> bytes:
    """One stream item in the output format: SSE (``event:`` lines for Responses) or a JSON line."""
    if jsonl:
        return b"[DONE]\n" if isinstance(payload, Done) else dump_json(payload) + b"\n"
    if isinstance(payload, Done):
        return DONE_FRAME
    if protocol == "responses" and _is_responses_payload(payload):
        return event_frame(payload)
    if protocol == "chat":
        return chunk_frame(payload)
    return encode_sse(payload)


# -- subcommands ---------------------------------------------------------------------------------


def _ids_and_clock(args: argparse.Namespace) -> tuple[IdSource, Clock]:
    if args.deterministic:
        return SequentialIds(), fixed_clock(_FIXED_TIME)
    return random_id, system_clock


def _cmd_translate(args: argparse.Namespace) -> int:
    source_protocol: str = args.source
    target: str = args.target or ("chat" if source_protocol == "responses" else "responses")
    if target == source_protocol:
        raise _UsageError(f"--from and --to are both {target!r}: nothing to translate")
    _check_translate_options(args)
    ids, clock = _ids_and_clock(args)
    translator: Any
    if source_protocol == "chat":
        from .streams.chat_to_responses import ChatToResponses

        request = _read_json_object(args.request) if args.request else None
        translator = ChatToResponses(
            request=request,
            ids=ids,
            clock=clock,
            think_tags=args.think_tags,
            choice=args.choice,
            tool_map=_read_tool_map(args.tool_map) if args.tool_map else None,
        )
    else:
        from .streams.responses_to_chat import ResponsesToChat

        translator = ResponsesToChat(
            include_usage=not args.no_usage,
            reasoning_field=None if args.reasoning_field == "none" else args.reasoning_field,
            surface_hosted_tools=args.surface_hosted_tools,
            custom_tool_calls=args.custom_tool_calls or "function",
            ids=ids,
            clock=clock,
        )
    output = _TranslateOutput(translator, target, jsonl=args.format == "jsonl")
    out = _stdout()
    checked = False
    with _open_binary(args.file) as handle, _flushing(out):
        source = _Source(handle)
        try:
            for batch in source.reads():
                for payload in batch:
                    if not checked:
                        checked = True
                        _check_protocol(payload, source_protocol)
                    out.write(output.feed(payload))
                out.flush()  # everything this read produced is out before the next read waits
        except TranslatorError as exc:
            # a bad chunk stops the run, but the output still ends properly: what the translator holds
            # and its terminal event (which names the error), then exit 3 with the message
            out.write(output.stop(exc))
            raise
        out.write(output.close())
    if source.cut:
        print(f"{_PROG}: warning: the input ended inside a frame; that frame was discarded", file=sys.stderr)
    return EXIT_OK


@contextlib.contextmanager
def _flushing(out: IO[bytes]) -> Iterator[None]:
    """Flush on the way out, also on an error: the frames before the bad chunk are part of the output."""
    try:
        yield
    finally:
        out.flush()


def _check_translate_options(args: argparse.Namespace) -> None:
    if args.source == "chat":
        given = [
            flag
            for flag, value in (
                ("--reasoning-field", args.reasoning_field != "reasoning_content"),
                ("--no-usage", args.no_usage),
                ("--surface-hosted-tools", args.surface_hosted_tools),
                ("--custom-tool-calls", args.custom_tool_calls is not None),
            )
            if value
        ]
    else:
        given = [
            flag
            for flag, value in (
                ("--request", args.request is not None),
                ("--tool-map", args.tool_map is not None),
                ("--think-tags", args.think_tags),
                ("--choice", args.choice is not None),
            )
            if value
        ]
    if given:
        raise _UsageError(f"{', '.join(given)} cannot be used with --from {args.source}")


class _TranslateOutput:
    """What ``translate`` writes for a translator's output: SSE through the target protocol's wire writer
    (Chat: a stream that did not fail ends with ``[DONE]``), or JSON lines.

    ``stop(error)`` ends a run the input broke: the translator's last output, whose terminal chunk or
    event names the error, and no ``[DONE]``.
    """

    def __init__(self, translator: Any, target: str, *, jsonl: bool) -> None:
        self.translator = translator
        self.writer: ChatSSEWriter | ResponsesSSEWriter | None = None
        if not jsonl:
            self.writer = ChatSSEWriter(translator) if target == "chat" else ResponsesSSEWriter(translator)

    def feed(self, payload: Payload) -> bytes:
        if self.writer is None:
            return _json_lines(self.translator.feed(payload))
        return self.writer.feed(payload)

    def close(self) -> bytes:
        if self.writer is None:
            return _json_lines(self.translator.close())
        return self.writer.close()

    def stop(self, error: TranslatorError) -> bytes:
        self.translator.stop(error)
        if isinstance(self.writer, ChatSSEWriter):
            frames, _ = chunk_frames(self.translator.close())  # no [DONE]: the input did not end well
            return frames
        return self.close()


def _json_lines(items: list[dict[str, Any]]) -> bytes:
    return b"".join([dump_json(item) + b"\n" for item in items])


def _check_protocol(payload: Payload, expected: str) -> None:
    found = _detect_protocol(payload)
    if isinstance(payload, dict) and found != expected:
        name = "a Responses" if found == "responses" else "a Chat Completions"
        raise _InputError(f"chunk 0: the input looks like {name} stream; use --from {found}")


def _stream_protocol(args: argparse.Namespace, items: list[Payload]) -> str:
    if args.protocol:
        protocol: str = args.protocol
        return protocol
    first = next((item for item in items if isinstance(item, dict)), None)
    return "chat" if first is None else _detect_protocol(first)


def _read_stream(name: str) -> tuple[list[Payload], bool]:
    with _open_binary(name) as handle:
        source = _Source(handle)
        items = list(source.payloads())
    return items, bool(source.jsonl)


def _stream_kind(payload: Payload) -> str | None:
    """``"chat"`` for a Chat chunk (or ``[DONE]``), ``"responses"`` for a Responses event, else ``None``."""
    if isinstance(payload, Done):
        return "chat"
    if _is_responses_payload(payload):
        return "responses"
    if payload.get("object") in ("chat.completion", "response"):
        return None  # a whole object, not a stream item
    if isinstance(payload.get("choices"), list) or payload.get("object") == "chat.completion.chunk":
        return "chat"
    if "error" in payload and "type" not in payload:
        return "chat"  # a Chat error chunk
    return None


def _not_a_stream(name: str, payload: dict[str, Any]) -> _InputError:
    kind = payload.get("object")
    if kind in ("chat.completion", "response"):
        hint = f"a {kind} object, not a stream: use `{_PROG} convert` to change its protocol"
    else:
        keys = ", ".join(sorted(map(str, payload))[:8]) or "none"
        hint = f"neither a Chat Completions chunk nor a Responses event (its keys: {keys})"
    return _InputError(f"{_display(name)}: chunk 0 is {hint}")


def _cmd_accumulate(args: argparse.Namespace) -> int:
    with _open_binary(args.file) as handle:
        payloads = _Source(handle).payloads()
        first = next(payloads, None)
        if first is None:
            raise _InputError(f"{_display(args.file)}: no chunks or events: nothing to accumulate")
        found = _stream_kind(first)
        if found is None:
            assert isinstance(first, dict)
            raise _not_a_stream(args.file, first)
        if args.protocol is not None and args.protocol != found:
            name = "a Responses" if found == "responses" else "a Chat Completions"
            raise _InputError(f"chunk 0: the input looks like {name} stream; use --protocol {found}")
        from .streams.accumulate import accumulate_chat, accumulate_responses

        accumulate = accumulate_chat if found == "chat" else accumulate_responses
        result = accumulate(itertools.chain([first], payloads))
    _write_json(result)
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from .testing.validate import validate_chat_stream, validate_responses_stream

    items, jsonl = _read_stream(args.file)
    protocol = _stream_protocol(args, items)
    if protocol == "chat":
        # JSON-lines recordings (and several providers) leave out [DONE]
        violations = validate_chat_stream(items, require_done=not (jsonl or args.no_require_done))
    else:
        violations = validate_responses_stream(
            items, require_sequence_numbers=not args.no_sequence_numbers, resumed=args.resumed
        )
    lines = [f"{'end' if v.index is None else v.index}\t{v.rule}\t{v.reason}\n" for v in violations]
    out = _stdout()
    out.write("".join(lines).encode())
    out.flush()
    return EXIT_VIOLATIONS if violations else EXIT_OK


def _cmd_normalize(args: argparse.Namespace) -> int:
    from .testing.normalize import Normalizer

    normalizer = Normalizer(drop=args.drop or ())
    out = _stdout()
    protocol: str | None = args.protocol
    with _open_binary(args.file) as handle, _flushing(out):
        source = _Source(handle)
        for batch in source.reads():
            for payload in batch:
                if protocol is None:
                    protocol = _detect_protocol(payload)
                out.write(_frame(normalizer(payload), protocol=protocol, jsonl=bool(source.jsonl)))
            out.flush()
    return EXIT_OK


def _custom_tool_calls_arg(parser: Any) -> None:
    parser.add_argument(
        "--custom-tool-calls",
        choices=("function", "custom"),
        help="to chat: a custom tool call as a function call holding the raw input (default) or in the"
        " Chat API's own type=custom form",
    )


def _object_kind(obj: dict[str, Any]) -> str | None:
    """``"chat"`` for a ChatCompletion, ``"responses"`` for a Response, else ``None``."""
    kind = obj.get("object")
    if kind == "chat.completion" or (kind is None and isinstance(obj.get("choices"), list)):
        return "chat"
    if kind == "response" or (kind is None and isinstance(obj.get("output"), list)):
        return "responses"
    return None


def _check_object(name: str, obj: dict[str, Any], target: str) -> None:
    found = _object_kind(obj)
    expected = "chat" if target == "responses" else "responses"
    if found == expected:
        return
    if found is not None:
        what = "a Response" if found == "responses" else "a ChatCompletion"
        raise _InputError(f"{_display(name)}: the input is {what}, already the target; use --to {expected}")
    kind = obj.get("object")
    if kind == "chat.completion.chunk" or str(obj.get("type", "")).startswith("response."):
        raise _InputError(f"{_display(name)}: the input is one stream chunk/event: use `{_PROG} accumulate`")
    want = "ChatCompletion" if expected == "chat" else "Response"
    raise _InputError(f"{_display(name)}: expected a {want} object (object: {kind!r})")


def _cmd_convert(args: argparse.Namespace) -> int:
    if args.target == "responses" and args.custom_tool_calls:
        raise _UsageError("--custom-tool-calls applies to --to chat only")
    if args.target == "chat" and (args.request or args.choice is not None or args.lenient):
        raise _UsageError("--request, --choice and --lenient apply to --to responses only")
    obj = _read_json_object(args.file)
    _check_object(args.file, obj, args.target)
    ids, clock = _ids_and_clock(args)
    if args.target == "responses":
        from .convert.objects import chat_completion_to_response

        request = _read_json_object(args.request) if args.request else None
        result = chat_completion_to_response(
            obj, request=request, ids=ids, clock=clock, choice=args.choice, lenient=args.lenient
        )
    else:
        from .convert.objects import response_to_chat_completion

        form = args.custom_tool_calls or "function"
        result = response_to_chat_completion(obj, ids=ids, custom_tool_calls=form)
    _write_json(result)
    return EXIT_OK


def _check_request(name: str, params: dict[str, Any], target: str) -> None:
    """A Chat request for ``--to responses``, a Responses request for ``--to chat``, or say which it is."""
    from .migrate.stored_records import conversation_protocol

    expected, other = ("messages", "input") if target == "responses" else ("input", "messages")
    found: str | None = None
    why = ""
    if other in params and expected not in params:
        found, why = ("chat" if other == "messages" else "responses"), f"it has {other!r}"
    elif expected in params and (evidence := conversation_protocol(params[expected])) is not None:
        found, why = evidence[0], f"{expected}: {evidence[1]}"
    source = "chat" if target == "responses" else "responses"
    if found is not None and found != source:
        what = "a Responses" if found == "responses" else "a Chat Completions"
        raise _InputError(f"{_display(name)}: this looks like {what} request ({why}); use --to {source}")


def _cmd_convert_request(args: argparse.Namespace) -> int:
    from .convert.requests import chat_request_to_responses, responses_request_to_chat

    if args.target == "chat" and args.hoist_instructions:
        raise _UsageError("--hoist-instructions applies to --to responses only")
    params = _read_json_object(args.file)
    _check_request(args.file, params, args.target)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.target == "responses":
            result = chat_request_to_responses(
                params, lenient=args.lenient, hoist_instructions=args.hoist_instructions
            )
        else:
            result = responses_request_to_chat(params, lenient=args.lenient)
    for warning in caught:
        print(f"{_PROG}: warning: {warning.message}", file=sys.stderr)
    _write_json(result)
    return EXIT_OK


def _cmd_migrate(args: argparse.Namespace) -> int:
    from .migrate.batch import MigrationFailed, RejectLimit, format_summary, migrate_file

    if args.reasoning_field is not None and args.direction == "chat-to-responses":
        raise _UsageError("--reasoning-field applies to --direction responses-to-chat only")
    if args.dst == "-" and not args.rejects:
        raise _UsageError("DST is - (stdout): name a --rejects FILE, so that no record is lost")
    if args.jobs < 1:
        raise _UsageError("--jobs must be at least 1")
    try:
        limit = RejectLimit.parse(args.max_rejects) if args.max_rejects is not None else None
    except ValueError as exc:
        raise _UsageError(f"--max-rejects: {exc}") from None
    field = args.reasoning_field or "reasoning_content"

    def log(line: str) -> None:
        print(f"{_PROG}: {line}", file=sys.stderr)

    failure: MigrationFailed | None = None
    with _terminating_on_sigterm():
        try:
            report = migrate_file(
                args.src,
                args.dst,
                direction=args.direction,
                rejects=args.rejects,
                lenient=args.lenient,
                conversation_key=args.conversation_key,
                reasoning_field=None if field == "none" else field,
                max_rejects=limit,
                jobs=args.jobs,
                progress=args.progress,
                log=log if args.verbose else None,
                notice=log,
            )
        except MigrationFailed as exc:
            failure, report = exc, exc.report
    rejects = args.rejects or _default_rejects(args.dst)
    sys.stderr.write(format_summary(report, prog=f"{_PROG} migrate", rejects=rejects, verbose=args.verbose))
    if failure is not None:
        hint = ""
        if "the direction is" in failure.reason:
            other = "responses-to-chat" if args.direction == "chat-to-responses" else "chat-to-responses"
            hint = f"; use --direction {other}"
        return _fail(EXIT_INPUT, f"{failure.reason}{hint} (the output was not written; rejects: {rejects})")
    if args.dst != "-":
        out = _stdout()
        out.write(f"read\t{report.read}\nwritten\t{report.written}\nrejected\t{report.rejected}\n".encode())
        out.flush()
    return EXIT_OK


def _default_rejects(destination: str) -> str:
    from .migrate.batch import default_rejects

    return default_rejects(destination)


class _Terminated(Exception):
    """SIGTERM arrived: unwinds like an error, so that temporary files are removed."""


@contextlib.contextmanager
def _terminating_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into :class:`_Terminated` while the block runs (main thread only)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: Any) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- parser --------------------------------------------------------------------------------------


class _UsageError(Exception):
    """Arguments argparse accepts but that do not go together; exit 2 like argparse's own errors."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _file_arg(parser: argparse.ArgumentParser, what: str = "stream") -> None:
    parser.add_argument(
        "file", nargs="?", default="-", metavar="FILE", help=f"input {what} (default: - for stdin)"
    )


def _protocol_arg(parser: argparse.ArgumentParser, *, detect: bool) -> None:
    extra = " (default: detected from the first event)" if detect else ""
    parser.add_argument(
        "--protocol", choices=("chat", "responses"), required=not detect, help=f"input protocol{extra}"
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=_PROG,
        description="Translate between OpenAI Chat Completions and Responses: streams, objects, requests.",
        epilog="exit codes: 0 ok, 1 violations found (validate), 2 usage error, 3 input error, "
        "4 file not found / I/O error",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("translate", help="translate a stream (SSE or JSONL) chunk by chunk")
    p.add_argument("--from", dest="source", choices=("chat", "responses"), required=True)
    p.add_argument("--to", dest="target", choices=("responses", "chat"), help="default: the other one")
    _file_arg(p)
    p.add_argument("--format", choices=("sse", "jsonl"), default="sse", help="output format (default: sse)")
    p.add_argument("--deterministic", action="store_true", help="sequential ids and a fixed clock")
    chat = p.add_argument_group("--from chat")
    chat.add_argument("--request", metavar="REQUEST.json", help="the Chat request, echoed on the Response")
    chat.add_argument("--think-tags", action="store_true", help="split <think>...</think> into reasoning")
    chat.add_argument("--choice", type=int, metavar="N", help="translate choice N of an n>1 stream")
    chat.add_argument(
        "--tool-map",
        metavar="MAP.json",
        help="Chat function name -> Responses tool (namespaced function, custom, tool_search)",
    )
    resp = p.add_argument_group("--from responses")
    resp.add_argument(
        "--reasoning-field",
        default="reasoning_content",
        metavar="NAME",
        help="delta field for reasoning (default: reasoning_content; 'none' drops reasoning)",
    )
    resp.add_argument("--no-usage", action="store_true", help="leave out the final usage chunk")
    resp.add_argument(
        "--surface-hosted-tools",
        action="store_true",
        help="send hosted tool items on delta.hosted_tool_calls",
    )
    _custom_tool_calls_arg(resp)
    p.set_defaults(run=_cmd_translate)

    p = sub.add_parser("accumulate", help="print the final ChatCompletion / Response of a stream")
    _protocol_arg(p, detect=True)
    _file_arg(p)
    p.set_defaults(run=_cmd_accumulate)

    p = sub.add_parser("validate", help="check a stream's invariants; one line per violation")
    _protocol_arg(p, detect=True)
    _file_arg(p)
    p.add_argument("--no-require-done", action="store_true", help="chat: allow a stream without [DONE]")
    p.add_argument(
        "--no-sequence-numbers", action="store_true", help="responses: allow events without sequence_number"
    )
    p.add_argument("--resumed", action="store_true", help="responses: resumed with starting_after")
    p.set_defaults(run=_cmd_validate)

    p = sub.add_parser("normalize", help="rewrite ids, timestamps and ciphertext; same format out")
    _protocol_arg(p, detect=True)
    _file_arg(p)
    p.add_argument("--drop", action="append", metavar="KEY", help="also remove KEY at any depth (repeatable)")
    p.set_defaults(run=_cmd_normalize)

    p = sub.add_parser("convert", help="convert a ChatCompletion <-> Response object")
    p.add_argument("--to", dest="target", choices=("responses", "chat"), required=True)
    _file_arg(p, "JSON object")
    p.add_argument("--request", metavar="REQUEST.json", help="--to responses: the Chat request to echo")
    p.add_argument("--choice", type=int, metavar="N", help="--to responses: the choice to convert")
    p.add_argument("--lenient", action="store_true", help="--to responses: drop what has no equivalent")
    _custom_tool_calls_arg(p)
    p.add_argument("--deterministic", action="store_true", help="sequential ids and a fixed clock")
    p.set_defaults(run=_cmd_convert)

    p = sub.add_parser("convert-request", help="convert request params (Chat <-> Responses)")
    p.add_argument("--to", dest="target", choices=("responses", "chat"), required=True)
    _file_arg(p, "request JSON")
    p.add_argument("--lenient", action="store_true", help="drop parameters with no equivalent (warns)")
    p.add_argument(
        "--hoist-instructions", action="store_true", help="--to responses: system messages -> instructions"
    )
    p.set_defaults(run=_cmd_convert_request)

    p = sub.add_parser("migrate", help="convert a JSONL file of stored transcripts")
    p.add_argument("--direction", choices=("chat-to-responses", "responses-to-chat"), required=True)
    p.add_argument("src", metavar="SRC", help="JSONL input (.gz/.zst decompressed; - for stdin)")
    p.add_argument("dst", metavar="DST", help="JSONL output (.gz/.zst compressed; - for stdout)")
    p.add_argument(
        "--rejects", metavar="FILE", help="where unconvertible records go (default: DST.rejects.jsonl)"
    )
    p.add_argument("--lenient", action="store_true", help="drop what has no equivalent instead of rejecting")
    p.add_argument(
        "--conversation-key",
        metavar="KEY",
        help="the record field holding the conversation; the record's other fields are kept "
        "(default: messages / input, and a record with 'model' is a request)",
    )
    p.add_argument(
        "--reasoning-field",
        metavar="NAME",
        help="responses-to-chat: assistant field for reasoning (default: reasoning_content; 'none' drops it)",
    )
    p.add_argument(
        "--max-rejects",
        metavar="N|P%",
        help="fail (output not written) past N rejected records, or P%% of those read",
    )
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N", help="worker processes (default: 1)")
    p.add_argument(
        "--verbose", "-v", action="store_true", help="a line per rejected record, dropped value and warning"
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    p.set_defaults(run=_cmd_migrate)

    p = sub.add_parser(
        "serve",
        help="run the gateway: /v1/responses and /v1/chat/completions over any upstream (extra: gateway)",
    )
    p.add_argument(
        "--upstream", metavar="URL", help="base URL of the upstream, e.g. http://127.0.0.1:11434/v1"
    )
    p.add_argument(
        "--upstream-protocol", choices=("chat", "responses"), help="what the upstream speaks (default: chat)"
    )
    p.add_argument(
        "--upstream-key-env",
        metavar="NAME",
        help="environment variable holding the upstream key (default: pass the client's Authorization)",
    )
    p.add_argument("--host", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to bind (default: 8080)")
    p.add_argument(
        "--config",
        metavar="FILE.toml",
        help="upstreams, model routes, keys, limits (docs/gateway/configuration.md)",
    )
    p.add_argument(
        "--store", metavar="SPEC", help="response state: memory, sqlite[:PATH] or redis://HOST:PORT/DB"
    )
    p.add_argument("--max-body-bytes", type=int, metavar="N", help="largest request body (default: 32 MiB)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (default: 1)")
    p.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), default="info", help="default: info"
    )
    p.set_defaults(run=_cmd_serve)
    return parser


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from .gateway.config import ConfigError
        from .gateway.server import serve
    except ImportError as exc:
        raise _UsageError(
            f"the gateway needs its extra: pip install 'chat-responses-translator[gateway]' ({exc})"
        ) from None
    settings = {
        "path": args.config,
        "upstream": args.upstream,
        "upstream_protocol": args.upstream_protocol,
        "upstream_key_env": args.upstream_key_env,
        "host": args.host,
        "port": args.port,
        "store": args.store,
        "max_body_bytes": args.max_body_bytes,
    }
    if args.workers < 1:
        raise _UsageError("--workers must be at least 1")
    try:
        serve(settings, workers=args.workers, log_level=args.log_level)
    except ConfigError as exc:
        raise _UsageError(f"bad gateway configuration: {exc}") from None
    except KeyboardInterrupt:
        pass
    return EXIT_OK


# -- entry point ---------------------------------------------------------------------------------


def _fail(code: int, message: str) -> int:
    print(f"{_PROG}: error: {message}", file=sys.stderr)
    return code


def _silence_stdout() -> None:
    """After EPIPE: point stdout at /dev/null so the interpreter's final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # not a real file descriptor (tests capture stdout)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK
    except _UsageError as exc:
        print(f"{_PROG} {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (TranslatorError, _InputError) as exc:
        return _fail(EXIT_INPUT, str(exc))
    except OSError as exc:
        return _fail(EXIT_IO, _os_error(exc))
    except KeyboardInterrupt:  # ^C: what was partly written is removed on the way out
        print(f"\n{_PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _Terminated:
        print(f"{_PROG}: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except MissingExtraError as exc:
        return _fail(EXIT_USAGE, str(exc))


def _os_error(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)
