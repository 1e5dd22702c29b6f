"""Our Responses SSE output, served over HTTP to the official ``openai`` client, reads as the real API would.

For every corpus chat stream: the SSE bytes ``chat_stream_to_responses_sse`` writes are returned by a
mock transport to ``openai.OpenAI``; ``client.responses.create(stream=True)`` yields every event with
its type, and for completed streams the ``client.responses.stream()`` helper's final response equals
our terminal response.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest
from support.corpus import corpus_params
from support.sdk import without_parsed
from test_chat_to_responses_corpus import chat_payloads, options_for

from translator.ids import SequentialIds, fixed_clock
from translator.streams.chat_to_responses import translate_chat_stream
from translator.wire.responses_sse import chat_stream_to_responses_sse


def client_for(body: bytes) -> openai.OpenAI:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    transport = httpx.MockTransport(handler)
    http_client = httpx.Client(transport=transport)
    return openai.OpenAI(api_key="test", base_url="http://test/v1", http_client=http_client)


def deterministic(**options: Any) -> dict[str, Any]:
    return {"ids": SequentialIds(), "clock": fixed_clock(1_700_000_000), **options}


@pytest.mark.parametrize("path", corpus_params("chat", "*.sse"))
def test_official_client_reads_our_responses_stream(path: Path) -> None:
    payloads = chat_payloads(path)
    options = options_for(path)
    ours = list(translate_chat_stream(payloads, **deterministic(**options)))
    body = b"".join(chat_stream_to_responses_sse(payloads, **deterministic(**options)))
    client = client_for(body)

    received = list(client.responses.create(model="m", input="x", stream=True))
    assert [e.type for e in received] == [e["type"] for e in ours]
    assert [e.sequence_number for e in received] == list(range(len(ours)))

    if ours[-1]["type"] == "response.completed":
        with client.responses.stream(model="m", input="x") as stream:
            final = stream.get_final_response()
        assert without_parsed(final.model_dump(mode="json", exclude_unset=True)) == ours[-1]["response"]
