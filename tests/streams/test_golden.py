"""Golden streams: the seed's two Responses streams (``shared/seed/*.sse``, recorded from the real API)
are reproduced from equivalent Chat streams (``examples/chat_text*.sse`` + their requests), equal after
normalizing ids and timestamps and removing what the 2025 recording predates (see SEED_PREDATES).

The golden files of each direction are written by the corpus module of that direction:
``golden/chat_to_responses/`` by ``test_chat_to_responses_corpus.py``, ``golden/responses_to_chat/`` by
``test_responses_to_chat_corpus.py`` (``make golden`` rewrites both).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from support.corpus import ROOT, SEED
from support.sdk import accumulate_with_sdk, validate_responses_events
from test_chat_to_responses_corpus import translate

from translator.engine.sse import StreamDecoder
from translator.testing.normalize import normalize_stream

EXAMPLES = ROOT / "examples"

#: Fields our output must carry (the current SDK requires them) that the seed's May-2025 recording
#: predates: ``sequence_number`` on every event, ``logprobs`` on output_text delta/done events, and
#: ``usage.input_tokens_details.cache_write_tokens``.
SEED_PREDATES = ("sequence_number", "logprobs", "cache_write_tokens")

SEED_CASES = [
    ("responses_text.sse", "chat_text"),
    ("responses_text_and_parallel_tool_calls.sse", "chat_text_and_tool_calls"),
]


def comparable(events: list[Any]) -> list[Any]:
    normalized = normalize_stream(events, drop=SEED_PREDATES)
    # the seed spells its first message id "msg-123456"; ids are compared by position, not spelling
    text = re.sub(rb'"(msg|resp|fc)-(\d+)"', rb'"\1_\2"', orjson.dumps(normalized))
    result: list[Any] = orjson.loads(text)
    return result


@pytest.mark.parametrize(("seed_file", "example"), SEED_CASES)
def test_seed_streams_are_reproduced_from_equivalent_chat_streams(seed_file: str, example: str) -> None:
    seed_path = SEED / seed_file
    if not seed_path.is_file():
        pytest.skip(f"seed stream not found at {seed_path}: set TRANSLATOR_SEED to the seed folder")
    decoder = StreamDecoder()
    seed = decoder.feed(seed_path.read_bytes()) + decoder.close()

    request = orjson.loads((EXAMPLES / f"{example}.request.json").read_bytes())
    ours = translate(
        [(EXAMPLES / f"{example}.sse").read_bytes()], request=request, response_fields={"truncation": "auto"}
    )
    validate_responses_events(ours)
    assert accumulate_with_sdk(ours) is not None

    assert [e["type"] for e in ours] == [e["type"] for e in seed]
    for n, (mine, theirs) in enumerate(zip(comparable(ours), comparable(seed), strict=True)):
        assert mine == theirs, f"event {n} ({theirs['type']}) differs"
