"""ChatCompletion <-> Response: the corpus, validated by the SDK models, plus focused cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openai.types.chat import ChatCompletion
from openai.types.responses import Response
from support.corpus import SKIP_REASON, corpus_params, read_json

from translator.convert.objects import chat_completion_to_response, response_to_chat_completion
from translator.convert.transcripts import DroppedParameterWarning
from translator.errors import ConversionError, UnsupportedParameterError
from translator.ids import SequentialIds, fixed_clock

CLOCK = fixed_clock(1_700_000_100)


def to_response(completion: Any, **options: Any) -> dict[str, Any]:
    response = chat_completion_to_response(completion, ids=SequentialIds(), clock=CLOCK, **options)
    Response.model_validate(response)
    return response


def to_completion(response: Any, **options: Any) -> dict[str, Any]:
    completion = response_to_chat_completion(response, ids=SequentialIds(), **options)
    ChatCompletion.model_validate(completion)
    return completion


def output_text(response: dict[str, Any]) -> str:
    """The non-empty output_text parts of every message item, joined with the default separator."""
    return "\n".join(
        part["text"]
        for item in response["output"]
        if item["type"] == "message"
        for part in item["content"]
        if part["type"] == "output_text" and part["text"]
    )


def text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # Mistral content arrays
        return "".join(p.get("text", "") for p in content if p.get("type") == "text")
    return content or ""


# ----------------------------------------------------------------------------- corpus


@pytest.mark.parametrize("path", corpus_params("chat_json", "*.json"))
def test_corpus_chat_completion_converts(path: Path) -> None:
    completion = read_json(path)
    if (
        path.stem.startswith(tuple(f"{p}__error_" for p in ("openai", "groq", "openrouter")))
        or "error" in completion
    ):
        with pytest.raises(ConversionError, match="error body") as info:
            chat_completion_to_response(completion)
        assert info.value.path == "error"
        return
    choices = completion["choices"]
    choice = choices[0]["index"] if len(choices) > 1 else None
    response = to_response(completion, choice=choice, lenient=True)
    message = choices[0]["message"]
    items = {item["type"]: item for item in response["output"]}
    text = "".join(
        part["text"]
        for item in response["output"]
        if item["type"] == "message"
        for part in item["content"]
        if part["type"] == "output_text"
    )
    assert text == text_of(message)
    calls = [item["call_id"] for item in response["output"] if item["type"] == "function_call"]
    given = [c["id"] for c in message.get("tool_calls") or []]
    pairs = list(zip(calls, given, strict=False))
    assert [c for c, g in pairs if g] == [g for g in given if g]  # provider ids kept
    assert all(c.startswith("call_") for c, g in pairs if not g)  # "" (Gemini): synthesized
    if message.get("reasoning_content") or message.get("reasoning"):
        assert "reasoning" in items
    if message.get("refusal"):
        assert items["message"]["content"][-1] == {"type": "refusal", "refusal": message["refusal"]}
    if choices[0]["finish_reason"] == "length":
        assert response["status"] == "incomplete"
        assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    if completion.get("usage"):
        assert response["usage"]["input_tokens"] == completion["usage"]["prompt_tokens"]
        assert response["usage"]["output_tokens"] == completion["usage"]["completion_tokens"]
    # and back: content, calls and usage survive
    back = to_completion(response)
    assert text_of(back["choices"][0]["message"]) == text_of(message)
    assert [c["id"] for c in back["choices"][0]["message"].get("tool_calls") or []] == calls
    if completion.get("usage"):
        assert back["usage"]["prompt_tokens"] == completion["usage"]["prompt_tokens"]


@pytest.mark.parametrize("path", corpus_params("responses_json", "*.json"))
def test_corpus_response_converts(path: Path) -> None:
    response = read_json(path)
    if "error" in response and "output" not in response:
        with pytest.raises(ConversionError, match="error body"):
            response_to_chat_completion(response)
        return
    if response["status"] not in ("completed", "incomplete"):
        with pytest.raises(ConversionError, match=response["status"]) as info:
            response_to_chat_completion(response)
        assert info.value.path == "status"
        return
    completion = to_completion(response)
    message = completion["choices"][0]["message"]
    assert (message["content"] or "") == output_text(response)
    calls = [item["call_id"] for item in response["output"] if item["type"] == "function_call"]
    assert [c["id"] for c in message.get("tool_calls") or []] == calls
    assert completion["choices"][0]["finish_reason"] == (
        "length" if response["status"] == "incomplete" else "tool_calls" if calls else "stop"
    )
    assert completion["usage"]["prompt_tokens"] == response["usage"]["input_tokens"]
    assert (
        completion["usage"]["completion_tokens_details"]["reasoning_tokens"]
        == (response["usage"]["output_tokens_details"]["reasoning_tokens"])
    )
    if any(
        item["type"] == "reasoning" and (item.get("summary") or item.get("content"))
        for item in response["output"]
    ):
        assert message.get("reasoning_content")
    # and back
    again = to_response(completion)
    assert output_text(again) == output_text(response)


def test_sdk_objects_are_accepted() -> None:
    completion = ChatCompletion.model_validate(
        read_json_or_skip("chat_json", "openai__chat_text_nonstream.json")
    )
    response = to_response(completion)
    assert response["output"][0]["content"][0]["text"] == completion.choices[0].message.content
    assert to_completion(Response.model_validate(response))["choices"][0]["message"]["content"] == (
        completion.choices[0].message.content
    )


def read_json_or_skip(sub: str, name: str) -> Any:
    files = [p for p in corpus_params(sub, name) if p.values and p.values[0] is not None]
    if not files:
        pytest.skip(SKIP_REASON)
    return read_json(files[0].values[0])


# ----------------------------------------------------------------------------- focused cases


def completion(message: dict[str, Any], finish_reason: str = "stop", **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish_reason}
        ],
        **extra,
    }


def test_text_annotations_logprobs_usage_and_service_tier() -> None:
    logprob = {
        "token": "Hi",
        "logprob": -0.1,
        "bytes": None,
        "top_logprobs": [{"token": "Hi", "logprob": -0.1}],
    }
    chat = completion(
        {
            "content": "Hi there",
            "refusal": None,
            "annotations": [
                {
                    "type": "url_citation",
                    "url_citation": {"start_index": 3, "end_index": 8, "title": "T", "url": "u"},
                }
            ],
        },
        usage={
            "prompt_tokens": 5,
            "completion_tokens": 2,
            "total_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 1},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
        service_tier="default",
        system_fingerprint="fp_1",
    )
    chat["choices"][0]["logprobs"] = {"content": [logprob], "refusal": None}
    response = to_response(chat)
    assert response["id"] == "resp_0002" and response["created_at"] == 1_700_000_000
    assert response["completed_at"] == 1_700_000_000  # Chat gives only `created`: completed by then
    assert response["status"] == "completed" and response["service_tier"] == "default"
    assert response["output"] == [
        {
            "id": "msg_0001",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [
                {
                    "type": "output_text",
                    "annotations": [
                        {"type": "url_citation", "start_index": 3, "end_index": 8, "title": "T", "url": "u"}
                    ],
                    "logprobs": [
                        {
                            "token": "Hi",
                            "logprob": -0.1,
                            "bytes": [],
                            "top_logprobs": [{"token": "Hi", "logprob": -0.1, "bytes": []}],
                        }
                    ],
                    "text": "Hi there",
                }
            ],
        }
    ]
    assert response["usage"]["input_tokens_details"] == {"cached_tokens": 1, "cache_write_tokens": 0}
    back = to_completion(response)
    assert back["choices"][0]["message"]["annotations"] == chat["choices"][0]["message"]["annotations"]
    assert back["choices"][0]["logprobs"]["content"][0]["token"] == "Hi"
    assert back["service_tier"] == "default"


@pytest.mark.parametrize(
    ("finish_reason", "status", "reason"),
    [
        ("stop", "completed", None),
        ("length", "incomplete", "max_output_tokens"),
        ("content_filter", "incomplete", "content_filter"),
        ("tool_calls", "completed", None),
    ],
)
def test_finish_reason_maps_to_status(finish_reason: str, status: str, reason: str | None) -> None:
    response = to_response(completion({"content": "x"}, finish_reason))
    assert response["status"] == status
    assert response["incomplete_details"] == (None if reason is None else {"reason": reason})
    assert response["output"][0]["status"] == status
    assert ("completed_at" in response) is (status == "completed")
    if finish_reason != "tool_calls":
        assert to_completion(response)["choices"][0]["finish_reason"] == finish_reason


def test_reasoning_refusal_and_tool_calls() -> None:
    chat = completion(
        {
            "content": None,
            "refusal": "I can't",
            "reasoning_content": "thinking",
            "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                {"id": "call_b", "type": "custom", "custom": {"name": "g", "input": "raw"}},
            ],
        },
        "tool_calls",
    )
    response = to_response(chat)
    assert [item["type"] for item in response["output"]] == [
        "reasoning",
        "message",
        "function_call",
        "custom_tool_call",
    ]
    assert response["output"][0]["summary"] == [{"type": "summary_text", "text": "thinking"}]
    assert response["output"][1]["content"] == [{"type": "refusal", "refusal": "I can't"}]
    back = to_completion(response, custom_tool_calls="custom")["choices"][0]
    assert back["finish_reason"] == "tool_calls"
    assert back["message"]["refusal"] == "I can't"
    assert back["message"]["reasoning_content"] == "thinking"
    # the Chat API's own custom form round-trips exactly
    assert back["message"]["tool_calls"] == chat["choices"][0]["message"]["tool_calls"]
    # by default a custom call comes back as the function call ResponsesToChat streams (raw input)
    default = to_completion(response)["choices"][0]["message"]["tool_calls"]
    assert default == [
        {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"id": "call_b", "type": "function", "function": {"name": "g", "arguments": "raw"}},
    ]


def test_raw_reasoning_field_becomes_reasoning_text() -> None:
    response = to_response(completion({"content": "a", "reasoning": "r"}))
    assert response["output"][0]["content"] == [{"type": "reasoning_text", "text": "r"}]
    assert to_completion(response, reasoning_field="reasoning")["choices"][0]["message"]["reasoning"] == "r"
    assert "reasoning_content" not in to_completion(response, reasoning_field=None)["choices"][0]["message"]


def test_legacy_function_call_gets_a_call_id() -> None:
    response = to_response(
        completion({"content": None, "function_call": {"name": "f", "arguments": "{}"}}, "function_call")
    )
    assert response["output"] == [
        {
            "id": "fc_0001",
            "type": "function_call",
            "status": "completed",
            "arguments": "{}",
            "call_id": "call_0002",
            "name": "f",
        }
    ]


def test_request_settings_are_echoed() -> None:
    request = {
        "model": "gpt-4o",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "tool_choice": "required",
        "temperature": 0.2,
        "max_completion_tokens": 30,
        "seed": 4,
    }
    response = to_response(completion({"content": "x"}), request=request)
    assert response["instructions"] == "be brief"
    assert response["tools"] == [
        {"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}, "strict": False}
    ]
    assert (response["tool_choice"], response["temperature"], response["max_output_tokens"]) == (
        "required",
        0.2,
        30,
    )


def test_several_choices_need_choice() -> None:
    chat = completion({"content": "a"})
    chat["choices"].append(
        {"index": 1, "message": {"role": "assistant", "content": "b"}, "finish_reason": "stop"}
    )
    with pytest.raises(ConversionError, match="choice=") as info:
        chat_completion_to_response(chat)
    assert info.value.path == "choices"
    assert to_response(chat, choice=1)["output"][0]["content"][0]["text"] == "b"
    with pytest.raises(ConversionError, match="no choice with index 5"):
        chat_completion_to_response(chat, choice=5)


def test_audio_output_raises_unless_lenient() -> None:
    chat = completion(
        {"content": None, "audio": {"id": "a1", "data": "AA", "expires_at": 1, "transcript": "hi"}}
    )
    with pytest.raises(UnsupportedParameterError) as info:
        chat_completion_to_response(chat)
    assert info.value.path == "choices[0].message.audio"
    with pytest.warns(DroppedParameterWarning):
        to_response(chat, lenient=True)


def test_several_message_items_concatenate_and_shift_citations() -> None:
    def message(text: str, start: int, end: int) -> dict[str, Any]:
        citation = {"type": "url_citation", "start_index": start, "end_index": end, "title": "t", "url": "u"}
        part = {"type": "output_text", "text": text, "annotations": [citation]}
        return {"id": "m", "type": "message", "status": "completed", "role": "assistant", "content": [part]}

    response = to_response(completion({"content": "x"}))
    response["output"] = [
        message("abc", 0, 1),
        {"type": "web_search_call", "id": "ws", "status": "completed"},
        message("defg", 1, 3),
    ]
    chat = response_to_chat_completion(response)["choices"][0]["message"]
    assert chat["content"] == "abc\ndefg"
    assert [a["url_citation"]["start_index"] for a in chat["annotations"]] == [0, 5]
    assert [a["url_citation"]["end_index"] for a in chat["annotations"]] == [1, 7]
    joined = response_to_chat_completion(response, separator="")["choices"][0]["message"]
    assert joined["content"] == "abcdefg"
    assert [a["url_citation"]["start_index"] for a in joined["annotations"]] == [0, 4]


def test_bad_input_is_a_conversion_error() -> None:
    with pytest.raises(ConversionError, match="expected a ChatCompletion"):
        chat_completion_to_response(42)
    with pytest.raises(ConversionError) as info:
        chat_completion_to_response(
            completion({"tool_calls": [{"type": "function", "function": {"name": "f"}}]})
        )
    assert info.value.path == "choices[0].message.tool_calls[0].id"
    with pytest.raises(ConversionError) as info:
        response_to_chat_completion(
            {"status": "completed", "output": [{"type": "function_call", "name": "f"}]}
        )
    assert info.value.path == "output[0].call_id"
    with pytest.raises(ConversionError, match=r"failed.*quota") as info:
        response_to_chat_completion({"status": "failed", "error": {"message": "quota"}, "output": []})


@pytest.mark.parametrize(
    ("finish", "status"),
    [
        ("stop", "completed"),
        ("length", "incomplete"),
        ("abort", "failed"),
        ("insufficient_system_resource", "failed"),
    ],
)
def test_a_completion_ends_as_its_stream_would(finish: str, status: str) -> None:
    """The object converter and the stream translator read a finish_reason the same way."""
    from translator import translate_chat_stream
    from translator.streams.object_stream import completion_as_chunks

    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "cut sh"}, "finish_reason": finish}
        ],
    }
    response = chat_completion_to_response(completion)
    streamed = list(translate_chat_stream(completion_as_chunks(completion)))[-1]["response"]
    assert response["status"] == streamed["status"] == status
    for key in ("error", "incomplete_details"):
        assert response.get(key) == streamed.get(key)
    assert response["output"][0]["status"] == streamed["output"][0]["status"]
