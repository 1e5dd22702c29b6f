"""Transcripts as they are stored: SDK dumps and SDK objects, annotations, tool pairing, every problem."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionMessage, ChatCompletionMessageParam
from openai.types.responses import Response, ResponseInputParam
from pydantic import TypeAdapter

from translator.convert.drop_policy import DroppedParameterWarning, ToolPairingWarning
from translator.convert.requests import chat_request_to_responses, responses_request_to_chat
from translator.convert.transcripts import input_to_messages, messages_to_input
from translator.errors import ConversionError, UnsupportedParameterError
from translator.ids import SequentialIds

INPUT_ITEMS: TypeAdapter[Any] = TypeAdapter(ResponseInputParam)
CHAT_MESSAGES: TypeAdapter[Any] = TypeAdapter(list[ChatCompletionMessageParam])

CITATION = {
    "type": "url_citation",
    "url_citation": {"start_index": 4, "end_index": 9, "title": "X", "url": "https://x.org"},
}


def completion(message: dict[str, Any]) -> ChatCompletion:
    """A real ChatCompletion, parsed by the SDK as the API's JSON would be."""
    return ChatCompletion.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o",
            "choices": [{"index": 0, "finish_reason": "stop", "message": message, "logprobs": None}],
        }
    )


CALL = {"id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": '{"c":"P"}'}}


def sdk_messages() -> list[ChatCompletionMessage]:
    calling = completion({"role": "assistant", "content": None, "tool_calls": [CALL]}).choices[0].message
    answered = (
        completion({"role": "assistant", "content": "It is 20C.", "annotations": []}).choices[0].message
    )
    return [calling, answered]


def history(stored: list[Any]) -> list[Any]:
    return [
        {"role": "user", "content": "weather?"},
        stored[0],
        {"role": "tool", "tool_call_id": "call_abc", "content": "20"},
        stored[1],
    ]


@pytest.mark.parametrize(
    "dump",
    [
        lambda m: m.model_dump(),
        lambda m: m.model_dump(exclude_none=True),
        lambda m: m.model_dump(mode="json"),
        lambda m: m.to_dict(),
        lambda m: m,  # the SDK object itself
    ],
    ids=["model_dump", "exclude_none", "json_mode", "to_dict", "object"],
)
def test_messages_stored_from_the_sdk_convert_in_strict_mode(dump: Any) -> None:
    stored = [dump(m) for m in sdk_messages()]
    if isinstance(stored[0], dict) and "annotations" in stored[1]:
        assert stored[1]["annotations"] == []  # the shape that used to be rejected
    items = messages_to_input(history(stored), ids=SequentialIds())
    INPUT_ITEMS.validate_python(items)
    assert items == [
        {"type": "message", "role": "user", "content": "weather?"},
        {"type": "function_call", "call_id": "call_abc", "name": "get_weather", "arguments": '{"c":"P"}'},
        {"type": "function_call_output", "call_id": "call_abc", "output": "20"},
        {"type": "message", "role": "assistant", "content": "It is 20C."},
    ]


def test_null_and_empty_fields_of_a_dump_pass_but_values_do_not() -> None:
    dumped = sdk_messages()[1].model_dump()
    assert {k: dumped[k] for k in ("audio", "function_call", "tool_calls", "refusal")} == dict.fromkeys(
        ("audio", "function_call", "tool_calls", "refusal")
    )
    assert messages_to_input([dumped]) == [{"type": "message", "role": "assistant", "content": "It is 20C."}]
    with pytest.raises(UnsupportedParameterError) as info:
        messages_to_input([{**dumped, "audio": {"id": "audio_1", "transcript": "hi"}}])
    assert info.value.path == "messages[0].audio"


def test_url_citations_become_output_text_annotations() -> None:
    message = (
        completion({"role": "assistant", "content": "See x.org now", "annotations": [CITATION]})
        .choices[0]
        .message
    )
    for stored in (message, message.model_dump(), message.to_dict()):
        items = messages_to_input([stored], ids=SequentialIds())
        INPUT_ITEMS.validate_python(items)
        assert items == [
            {
                "id": "msg_0001",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [
                    {
                        "type": "output_text",
                        "text": "See x.org now",
                        "annotations": [
                            {
                                "type": "url_citation",
                                "start_index": 4,
                                "end_index": 9,
                                "title": "X",
                                "url": "https://x.org",
                            }
                        ],
                    }
                ],
            }
        ]
    # and back: the text survives (Chat history has no field for annotations)
    assert input_to_messages(items) == [{"role": "assistant", "content": "See x.org now"}]


def test_an_annotation_type_with_no_equivalent_is_named() -> None:
    message = {
        "role": "assistant",
        "content": "x",
        "annotations": [{"type": "file_citation", "file_id": "f"}],
    }
    with pytest.raises(UnsupportedParameterError) as info:
        messages_to_input([message])
    assert info.value.path == "messages[0].annotations[0].type"
    with pytest.warns(DroppedParameterWarning, match=r"annotations\[0\]"):
        items = messages_to_input([message], lenient=True)
    assert items == [{"type": "message", "role": "assistant", "content": "x"}]  # nothing left to carry


def test_response_output_objects_convert_to_chat_messages() -> None:
    response = Response.model_validate(
        {
            "id": "resp_1",
            "object": "response",
            "created_at": 1,
            "model": "gpt-4o",
            "status": "completed",
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "output": [
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "think"}]},
                {
                    "type": "message",
                    "id": "msg_1",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": "Let me look.", "annotations": []}],
                },
                {
                    "type": "function_call",
                    "id": "fc_1",
                    "call_id": "call_abc",
                    "name": "get_weather",
                    "arguments": "{}",
                    "status": "completed",
                },
            ],
        }
    )
    answer = {"type": "function_call_output", "call_id": "call_abc", "output": "20"}
    messages = input_to_messages([*response.output, answer])
    CHAT_MESSAGES.validate_python(messages)
    assert messages == [
        {
            "role": "assistant",
            "content": "Let me look.",
            "reasoning_content": "think",
            "tool_calls": [
                {"id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_abc", "content": "20"},
    ]


# -- tool pairing ------------------------------------------------------------------------------------

UNPAIRED_CHAT = [
    {"role": "user", "content": "q"},
    {"role": "assistant", "content": None, "tool_calls": [CALL, {**CALL, "id": "call_lost"}]},
    {"role": "tool", "tool_call_id": "call_abc", "content": "20"},
    {"role": "tool", "tool_call_id": "call_abc", "content": "again"},
    {"role": "tool", "tool_call_id": "call_nobody", "content": "?"},
]


def test_chat_history_with_unpaired_tool_messages_is_rejected_naming_each_problem() -> None:
    with pytest.raises(ConversionError) as info:
        messages_to_input(UNPAIRED_CHAT)
    problems = [(p.path, p.reason) for p in info.value.problems]
    assert problems == [
        ("messages[3].tool_call_id", "answers a tool call already answered"),
        ("messages[4].tool_call_id", "answers no earlier tool call (no call has this id)"),
        ("messages[1].tool_calls[1].id", "has no answer (no later tool message has this call's id)"),
    ]
    assert str(info.value).startswith("3 problems: messages[3].tool_call_id: ")


def test_lenient_mode_warns_about_unpaired_tool_messages_and_converts_everything() -> None:
    with pytest.warns(ToolPairingWarning) as caught:
        items = messages_to_input(UNPAIRED_CHAT, lenient=True)
    assert [str(w.message).split(":")[0] for w in caught] == [
        "messages[3].tool_call_id",
        "messages[4].tool_call_id",
        "messages[1].tool_calls[1].id",
    ]
    assert [i["type"] for i in items].count("function_call_output") == 3


def test_an_answer_before_its_call_is_no_answer() -> None:
    with pytest.raises(ConversionError) as info:
        messages_to_input(
            [
                {"role": "tool", "tool_call_id": "call_abc", "content": "x"},
                {"role": "assistant", "tool_calls": [CALL]},
            ]
        )
    assert [p.path for p in info.value.problems] == [
        "messages[0].tool_call_id",
        "messages[1].tool_calls[0].id",
    ]


def test_legacy_function_call_without_answer_is_reported() -> None:
    with pytest.raises(ConversionError, match=r"messages\[0\]\.function_call: has no answer"):
        messages_to_input([{"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}}])


def test_input_items_with_unpaired_calls_are_rejected_or_warned() -> None:
    items = [
        {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
        {"type": "custom_tool_call", "call_id": "b", "name": "patch", "input": "x"},
        {"type": "function_call_output", "call_id": "a", "output": "1"},
        {"type": "custom_tool_call_output", "call_id": "z", "output": "2"},
    ]
    with pytest.raises(ConversionError) as info:
        input_to_messages(items)
    assert [(p.path, p.reason) for p in info.value.problems] == [
        ("input[3].call_id", "answers no earlier call (no call has this call_id)"),
        (
            "input[1].call_id",
            "has no output (no later output item has this call_id)",
        ),
    ]
    with pytest.warns(ToolPairingWarning):
        messages = input_to_messages(items, lenient=True)
    assert [m["role"] for m in messages] == ["assistant", "tool", "tool"]
    assert input_to_messages(items, check_pairing=False) == messages


def test_pairing_is_checked_in_requests_too() -> None:
    request = {"model": "m", "messages": [{"role": "tool", "tool_call_id": "x", "content": "1"}]}
    with pytest.raises(ConversionError, match="answers no earlier tool call"):
        chat_request_to_responses(request)
    assert chat_request_to_responses(request, check_pairing=False)["input"][0]["call_id"] == "x"
    with pytest.raises(ConversionError, match="has no output"):
        responses_request_to_chat(
            {
                "model": "m",
                "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}],
            }
        )


# -- strict mode names every problem -------------------------------------------------------------------


def test_strict_mode_reports_every_problem_of_a_transcript() -> None:
    messages = [
        {"role": "user", "content": "x", "name": "bob"},
        {
            "role": "user",
            "content": [{"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}}],
        },
        {"role": "assistant", "content": "y", "audio": {"id": "a"}},
    ]
    with pytest.raises(UnsupportedParameterError) as info:
        messages_to_input(messages)
    assert [p.path for p in info.value.problems] == [
        "messages[0].name",
        "messages[1].content[0].type",
        "messages[2].audio",
    ]
    assert info.value.path == "messages[0].name"
    assert all(p.path in str(info.value) for p in info.value.problems)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        messages_to_input(messages, lenient=True)
    assert len(caught) == 3


def test_a_malformed_value_ends_the_list_of_problems() -> None:
    messages = [{"role": "user", "content": "x", "name": "bob"}, {"role": "robot", "content": "x"}]
    with pytest.raises(ConversionError) as info:
        messages_to_input(messages)
    assert not isinstance(info.value, UnsupportedParameterError)  # not every problem is a missing equivalent
    assert [p.path for p in info.value.problems] == ["messages[0].name", "messages[1].role"]


def test_strict_requests_report_problems_of_the_parameters_and_the_history_together() -> None:
    request = {
        "model": "m",
        "seed": 3,
        "messages": [{"role": "user", "content": "x", "name": "bob"}],
        "logit_bias": {"1": 2},
    }
    with pytest.raises(UnsupportedParameterError) as info:
        chat_request_to_responses(request)
    assert [p.path for p in info.value.problems] == [
        "request.seed",
        "request.messages[0].name",
        "request.logit_bias",
    ]
    with pytest.raises(UnsupportedParameterError) as info:
        responses_request_to_chat(
            {"model": "m", "input": "q", "previous_response_id": "r", "background": True}
        )
    assert [p.path for p in info.value.problems] == ["request.previous_response_id", "request.background"]
