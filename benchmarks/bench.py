"""Throughput of the stream translators against openai-agents and an orjson floor (``make bench``).

Three synthetic Chat Completions streams are built here (nothing is read from disk):

* ``long_text``: ~2000 content chunks of a few characters each;
* ``parallel_tools``: 8 tool calls x 200 argument fragments, one call after the other (OpenAI's order);
  (and, timed on its own at three lengths, two calls whose fragments alternate: linear or not);
* ``reasoning``: 1500 ``reasoning_content`` chunks, then 500 content chunks.

For each stream the same work is timed for:

* ``ours dicts``: ``ChatToResponses.feed`` over parsed chunk dicts;
* ``ours sdk``: ``ChatToResponses.feed`` over ``ChatCompletionChunk`` objects (built beforehand);
* ``agents sdk``: ``agents.models.chatcmpl_stream_handler.ChatCmplStreamHandler.handle_stream`` over
  the same ``ChatCompletionChunk`` objects (an async generator; timed inside the event loop);
* ``ours e2e``: raw SSE bytes in (16 KiB slices), Responses SSE bytes out (decode + translate + encode);
* ``orjson floor``: ``orjson.loads`` + ``orjson.dumps`` of every ``data:`` line of the stream
  (``orjson floor rsp``: the same over the Responses events, the input of the reverse direction);
* ``reverse dicts`` / ``reverse e2e``: ``ResponsesToChat`` over the Responses events ours produced,
  as dicts (``feed``), and as SSE bytes to Chat SSE bytes (``responses_stream_to_chat_sse`` over
  16 KiB reads; chunks/s and MB/s there count Responses events/bytes).

Every measurement is repeated (15 times by default) and the median is reported; the subjects of a
workload take turns (repetition 1 of each, then 2...), and the clock is the process's CPU time
(``time.process_time``), so load from other processes on a shared machine moves the figures little.
chunks/s counts input chunks; MB/s is MB (10^6 bytes) of the input SSE body per second.  Then the
peak memory (tracemalloc) of translating ``long_text`` at 1x, 4x and 16x length, next to its output
size: it grows with the output.

``--quick`` runs tiny streams with 2 repetitions: a smoke run, not a measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from agents.models.chatcmpl_stream_handler import ChatCmplStreamHandler
from agents.models.fake_id import FAKE_RESPONSES_ID
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import Response

# Only the public surface (the top-level names), so that another checkout's interpreter can run this file on
# its own code: benchmarks/instructions.py compares two checkouts so.
from translator import ChatToResponses, ResponsesToChat, encode_sse, responses_stream_to_chat_sse

MODEL = "gpt-4.1-mini-2025-04-14"
DONE_FRAME = b"data: [DONE]\n\n"
#: The clock of every measurement: CPU time of this process.  The work timed is single-threaded and
#: CPU-bound, and on a shared machine wall time also counts the time other processes had the core.
cpu_seconds = time.process_time
SLICE = 16 * 1024  # bytes per feed() in the end-to-end runs, as a network read would deliver them
WORDS = ("the ", "quick ", "brown ", "fox ", "jumps ", "over ", "a ", "lazy ", "dog", ". ", "Then ", "it ")


# -- workloads -------------------------------------------------------------------------------------


@dataclass
class Workload:
    name: str
    chunks: list[dict[str, Any]]  # parsed chunks, without [DONE]
    sse: bytes  # the same chunks as an SSE body, ending in data: [DONE]
    sdk: list[ChatCompletionChunk]  # the same chunks as openai SDK objects

    @property
    def data_lines(self) -> list[bytes]:
        return [frame[6:] for frame in self.sse.split(b"\n\n") if frame.startswith(b"data: {")]


def _chunk(n: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-BZ1bench000000000000000000001",
        "object": "chat.completion.chunk",
        "created": 1747656088,
        "model": MODEL,
        "service_tier": "default",
        "system_fingerprint": "fp_38647f5e19",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": None,
    }


def _usage_chunk(prompt: int, completion: int, reasoning: int = 0) -> dict[str, Any]:
    chunk = _chunk(0, {})
    chunk["choices"] = []
    chunk["usage"] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0},
    }
    return chunk


def _words(count: int, offset: int = 0) -> Iterable[str]:
    return (WORDS[(i + offset) % len(WORDS)] for i in range(count))


def long_text(n: int = 2000) -> list[dict[str, Any]]:
    chunks = [_chunk(0, {"role": "assistant", "content": "", "refusal": None})]
    chunks += [_chunk(0, {"content": word}) for word in _words(n)]
    chunks.append(_chunk(0, {}, "stop"))
    chunks.append(_usage_chunk(40, n))
    return chunks


def parallel_tools(calls: int = 8, fragments: int = 200) -> list[dict[str, Any]]:
    chunks = [_chunk(0, {"role": "assistant", "content": None, "refusal": None})]
    for index in range(calls):
        head = {
            "index": index,
            "id": f"call_bench{index:020d}",
            "type": "function",
            "function": {"name": f"tool_{index}", "arguments": ""},
        }
        chunks.append(_chunk(0, {"tool_calls": [head]}))
        pieces = ['{"text": "', *_words(fragments - 2, index), '"}']
        for piece in pieces:
            chunks.append(_chunk(0, {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    chunks.append(_chunk(0, {}, "tool_calls"))
    chunks.append(_usage_chunk(120, calls * fragments))
    return chunks


def interleaved_tools(fragments: int) -> list[dict[str, Any]]:
    """Two tool calls whose argument fragments alternate (some providers stream parallel calls so)."""
    chunks = [_chunk(0, {"role": "assistant", "content": None})]
    for index in range(2):
        head = {"index": index, "id": f"call_i{index}", "type": "function", "function": {"name": "f"}}
        head["function"]["arguments"] = '{"text": "'
        chunks.append(_chunk(0, {"tool_calls": [head]}))
    for word in _words(fragments):
        for index in range(2):
            chunks.append(_chunk(0, {"tool_calls": [{"index": index, "function": {"arguments": word}}]}))
    for index in range(2):
        chunks.append(_chunk(0, {"tool_calls": [{"index": index, "function": {"arguments": '"}'}}]}))
    chunks.append(_chunk(0, {}, "tool_calls"))
    return chunks


def reasoning(thinking: int = 1500, answer: int = 500) -> list[dict[str, Any]]:
    chunks = [_chunk(0, {"role": "assistant", "content": None, "reasoning_content": ""})]
    chunks += [_chunk(0, {"content": None, "reasoning_content": word}) for word in _words(thinking, 3)]
    chunks += [_chunk(0, {"content": word, "reasoning_content": None}) for word in _words(answer)]
    chunks.append(_chunk(0, {}, "stop"))
    chunks.append(_usage_chunk(30, thinking + answer, thinking))
    return chunks


def workload(name: str, chunks: list[dict[str, Any]]) -> Workload:
    sse = b"".join(encode_sse(chunk) for chunk in chunks) + DONE_FRAME
    sdk = [ChatCompletionChunk.model_validate(chunk) for chunk in chunks]
    return Workload(name, chunks, sse, sdk)


def responses_sse(events: Iterable[dict[str, Any]]) -> bytes:
    """Responses events as an SSE body (``event:`` + ``data:`` frames)."""
    return b"".join(encode_sse(event, event=event["type"]) for event in events)


def workloads(scale: float = 1.0) -> list[Workload]:
    def n(value: int) -> int:
        return max(2, round(value * scale))

    return [
        workload("long_text", long_text(n(2000))),
        workload("parallel_tools", parallel_tools(8, n(200))),
        workload("reasoning", reasoning(n(1500), n(500))),
    ]


# -- the work being timed --------------------------------------------------------------------------


def ours(items: Iterable[Any]) -> list[dict[str, Any]]:
    """ChatToResponses over dicts or SDK objects: the Responses events."""
    translator = ChatToResponses()
    out: list[dict[str, Any]] = []
    for item in items:
        out += translator.feed(item)
    out += translator.close()
    return out


def ours_sse(body: bytes) -> bytes:
    """Chat SSE bytes -> Responses SSE bytes, fed in network-sized slices."""
    translator = ChatToResponses()
    out: list[bytes] = []
    for start in range(0, len(body), SLICE):
        out += [encode_sse(ev, event=ev["type"]) for ev in translator.feed(body[start : start + SLICE])]
    out += [encode_sse(ev, event=ev["type"]) for ev in translator.close()]
    return b"".join(out)


def reverse(events: Iterable[Any]) -> list[dict[str, Any]]:
    translator = ResponsesToChat()
    out: list[dict[str, Any]] = []
    for event in events:
        out += translator.feed(event)
    out += translator.close()
    return out


def reverse_sse(body: bytes) -> bytes:
    """Responses SSE bytes -> Chat SSE bytes through the library's SSE wrapper, in network-sized reads."""
    reads = (body[start : start + SLICE] for start in range(0, len(body), SLICE))
    return b"".join(responses_stream_to_chat_sse(reads))


def orjson_floor(lines: list[bytes]) -> int:
    loads, dumps = orjson.loads, orjson.dumps
    return sum(len(dumps(loads(line))) for line in lines)


def agents_response() -> Response:
    """The Response object openai-agents builds before streaming (OpenAIChatCompletionsModel)."""
    return Response(
        id=FAKE_RESPONSES_ID,
        created_at=time.time(),
        model=MODEL,
        object="response",
        output=[],
        tool_choice="auto",
        top_p=None,
        temperature=None,
        tools=[],
        parallel_tool_calls=False,
        reasoning=None,
    )


async def _aiter(items: list[ChatCompletionChunk]) -> AsyncIterator[ChatCompletionChunk]:
    for item in items:
        yield item


async def _agents_events(chunks: list[ChatCompletionChunk], response: Response) -> list[Any]:
    stream: Any = _aiter(chunks)  # handle_stream is typed for AsyncStream; it only iterates
    return [event async for event in ChatCmplStreamHandler.handle_stream(response, stream)]


def agents(chunks: list[ChatCompletionChunk]) -> list[Any]:
    """openai-agents' handler over SDK chunks: its Responses events (pydantic objects)."""
    return asyncio.run(_agents_events(chunks, agents_response()))


# -- comparable results (used by the smoke test) ---------------------------------------------------


def summary_of_output(output: list[dict[str, Any]]) -> dict[str, Any]:
    """What a client keeps of a final ``Response.output``: text, reasoning summary, calls."""
    text, thinking, calls = [], [], []
    for item in output:
        if item["type"] == "message":
            text += [part.get("text", "") for part in item["content"]]
        elif item["type"] == "reasoning":
            thinking += [part["text"] for part in item.get("summary") or []]
        elif item["type"] == "function_call":
            calls.append((item["call_id"], item["name"], item["arguments"]))
    return {"text": "".join(text), "reasoning": "".join(thinking), "calls": calls}


def final_summary_ours(items: Iterable[Any]) -> dict[str, Any]:
    events = ours(items)
    assert events[-1]["type"] == "response.completed", events[-1]["type"]
    return summary_of_output(events[-1]["response"]["output"])


def final_summary_agents(chunks: list[ChatCompletionChunk]) -> dict[str, Any]:
    events = agents(chunks)
    assert events[-1].type == "response.completed", events[-1].type
    return summary_of_output(events[-1].response.model_dump(mode="json")["output"])


# -- measuring -------------------------------------------------------------------------------------


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        start = cpu_seconds()
        work()
        times.append(cpu_seconds() - start)
    return statistics.median(times)


def agents_seconds(chunks: list[ChatCompletionChunk]) -> float:
    """One pass of the agents handler, timed inside its event loop (loop start-up is not charged)."""
    response = agents_response()  # built outside the timed region

    async def timed() -> float:
        start = cpu_seconds()
        async for _ in ChatCmplStreamHandler.handle_stream(response, _aiter(chunks)):  # type: ignore[arg-type]
            pass
        return cpu_seconds() - start

    return asyncio.run(timed())


def timed(work: Callable[[], object]) -> Callable[[], float]:
    def run() -> float:
        start = cpu_seconds()
        work()
        return cpu_seconds() - start

    return run


def round_robin_medians(works: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    """Median seconds of each work, the works taking turns (repetition 1 of each, then 2...).

    Whatever load remains (caches shared with other processes) then falls on all subjects alike.
    """
    times: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(repeats):
        for name, work in works.items():
            gc.collect()
            times[name].append(work())
    return {name: statistics.median(values) for name, values in times.items()}


@dataclass
class Row:
    workload: str
    subject: str
    chunks: int
    nbytes: int
    seconds: float

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.nbytes / 1e6 / self.seconds


def measure(load: Workload, repeats: int) -> list[Row]:
    n, size = len(load.chunks), len(load.sse)
    lines = load.data_lines
    events = ours(load.chunks)
    events_sse = responses_sse(events)
    events_lines = [orjson.dumps(event) for event in events]

    def row(subject: str, seconds: float, chunks: int = n, nbytes: int = size) -> Row:
        return Row(load.name, subject, chunks, nbytes, seconds)

    medians = round_robin_medians(
        {
            "ours dicts": timed(lambda: ours(load.chunks)),
            "ours sdk": timed(lambda: ours(load.sdk)),
            "agents sdk": lambda: agents_seconds(load.sdk),
            "ours e2e sse": timed(lambda: ours_sse(load.sse)),
            "orjson floor": timed(lambda: orjson_floor(lines)),
            "orjson floor rsp": timed(lambda: orjson_floor(events_lines)),
            "reverse dicts": timed(lambda: reverse(events)),
            "reverse e2e sse": timed(lambda: reverse_sse(events_sse)),
        },
        repeats,
    )
    responses_side = ("orjson floor rsp", "reverse dicts", "reverse e2e sse")
    return [
        row(name, seconds, len(events), len(events_sse)) if name in responses_side else row(name, seconds)
        for name, seconds in medians.items()
    ]


def peak_memory(chunks: list[dict[str, Any]]) -> tuple[int, int, int]:
    """(peak traced bytes while translating SSE -> SSE with output discarded, output bytes, text bytes)."""
    body = b"".join(encode_sse(chunk) for chunk in chunks) + DONE_FRAME
    text = sum(len((c["choices"][0]["delta"].get("content") or "").encode()) for c in chunks if c["choices"])
    gc.collect()
    tracemalloc.start()
    translator = ChatToResponses()
    out_bytes = 0
    for start in range(0, len(body), SLICE):
        for event in translator.feed(body[start : start + SLICE]):
            out_bytes += len(encode_sse(event, event=event["type"]))
    for event in translator.close():
        out_bytes += len(encode_sse(event, event=event["type"]))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del body
    return peak, out_bytes, text


# -- report ----------------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def report(rows: list[Row]) -> str:
    lines = [
        f"{'workload':<15} {'subject':<16} {'chunks':>7} {'in MB':>7} {'median ms':>10} {'chunks/s':>12} "
        f"{'MB/s':>8}",
    ]
    for r in rows:
        lines.append(
            f"{r.workload:<15} {r.subject:<16} {r.chunks:>7} {r.nbytes / 1e6:>7.3f} {r.seconds * 1e3:>10.2f} "
            f"{_fmt(r.chunks_per_s):>12} {_fmt(r.mb_per_s):>8}"
        )
    lines.append("")
    lines.append(
        f"{'workload':<15} {'dicts/agents':>13} {'sdk/agents':>11} {'e2e/orjson':>11} {'dicts/orjson':>13} "
        f"{'rev e2e/orjson rsp':>19}"
    )
    by: dict[tuple[str, str], Row] = {(r.workload, r.subject): r for r in rows}
    for name in dict.fromkeys(r.workload for r in rows):

        def speed(subject: str, name: str = name) -> float:
            return by[(name, subject)].mb_per_s

        floor = speed("orjson floor")
        lines.append(
            f"{name:<15} {speed('ours dicts') / speed('agents sdk'):>12.1f}x "
            f"{speed('ours sdk') / speed('agents sdk'):>10.1f}x "
            f"{speed('ours e2e sse') / floor:>10.0%} {speed('ours dicts') / floor:>13.0%} "
            f"{speed('reverse e2e sse') / speed('orjson floor rsp'):>19.0%}"
        )
    lines.append("targets: ours/agents >= 10x; ours/orjson floor >= 40%  (ratios of MB/s of the same input;")
    lines.append("the reverse direction is compared with the floor over its own input, 'orjson floor rsp')")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="tiny streams, 2 repetitions (smoke run)")
    parser.add_argument("--repeats", type=int, help="repetitions (default 15; 2 with --quick)")
    parser.add_argument("--scale", type=float, help="the workloads' size (default 1; 0.02 with --quick)")
    args = parser.parse_args(argv)
    scale = args.scale or (0.02 if args.quick else 1.0)
    repeats = args.repeats or (2 if args.quick else 15)
    started = time.perf_counter()
    mode = " (quick: a smoke run, not a measurement)" if args.quick else ""
    print(f"python {sys.version.split()[0]}, {repeats} repetitions, medians{mode}")
    loads = workloads(scale)
    for load in loads:  # the outputs agree before anything is timed
        if final_summary_ours(load.chunks) != final_summary_agents(load.sdk):
            print(f"warning: {load.name}: ours and agents disagree on the final output", file=sys.stderr)
    rows = [row for load in loads for row in measure(load, repeats)]
    print(report(rows))
    print()
    print("peak memory, long_text SSE -> SSE (output discarded as written)")
    print(f"{'chunks':>7} {'text KB':>8} {'output KB':>10} {'peak KB':>8} {'peak/output':>12}")
    for n in (round(2000 * scale), round(8000 * scale), round(32000 * scale)):
        peak, out_bytes, text = peak_memory(long_text(max(n, 2)))
        print(
            f"{n:>7} {text / 1e3:>8.1f} {out_bytes / 1e3:>10.1f} {peak / 1e3:>8.1f} {peak / out_bytes:>12.2f}"
        )
    print()
    print("interleaved parallel calls (2 calls, fragments alternating): time per fragment stays flat")
    print(f"{'fragments':>10} {'median ms':>10} {'us/fragment':>12}")
    for n in (round(4000 * scale), round(16000 * scale), round(64000 * scale)):
        chunks = interleaved_tools(max(n // 2, 2))
        seconds = median_seconds(lambda chunks=chunks: ours(chunks), max(3, repeats // 2))
        print(f"{n:>10} {seconds * 1e3:>10.2f} {seconds * 1e6 / n:>12.2f}")
    print(f"\ntotal {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
