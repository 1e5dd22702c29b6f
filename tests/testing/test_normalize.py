"""testing.normalize: ids, timestamps, obfuscation and sequence numbers are rewritten consistently."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from support.corpus import corpus_params, read_json

from translator.engine.sse import DONE, StreamDecoder
from translator.testing.normalize import OPAQUE, Normalizer, normalize, normalize_stream


def decode(data: bytes) -> list[Any]:
    decoder = StreamDecoder()
    return decoder.feed(data) + decoder.close()


def test_ids_become_numbered_placeholders_per_prefix() -> None:
    events = [
        {"type": "response.created", "sequence_number": 7, "response": {"id": "resp_9f", "created_at": 1758}},
        {
            "type": "response.output_item.added",
            "sequence_number": 8,
            "item": {"id": "fc_a1", "type": "function_call", "call_id": "call_Xy"},
        },
        {
            "type": "response.output_item.added",
            "sequence_number": 9,
            "item": {"id": "fc_b2", "call_id": "call_Zw"},
        },
        {
            "type": "response.function_call_arguments.delta",
            "sequence_number": 10,
            "item_id": "fc_a1",
            "obfuscation": "q",
        },
        {
            "type": "response.completed",
            "sequence_number": 11,
            "response": {"id": "resp_9f", "completed_at": 1759.5},
        },
    ]
    assert normalize_stream(events) == [
        {"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "created_at": 0}},
        {
            "type": "response.output_item.added",
            "sequence_number": 1,
            "item": {"id": "fc_1", "type": "function_call", "call_id": "call_1"},
        },
        {
            "type": "response.output_item.added",
            "sequence_number": 2,
            "item": {"id": "fc_2", "call_id": "call_2"},
        },
        {"type": "response.function_call_arguments.delta", "sequence_number": 3, "item_id": "fc_1"},
        {"type": "response.completed", "sequence_number": 4, "response": {"id": "resp_1", "completed_at": 0}},
    ]


def test_chat_ids_keep_their_dash_and_odd_ids_get_a_generic_prefix() -> None:
    chunks = [
        {
            "id": "chatcmpl-Ab",
            "created": 5,
            "choices": [{"delta": {"tool_calls": [{"id": "0", "index": 0}]}}],
        },
        {"id": "chatcmpl-Ab", "created": 6, "choices": [{"delta": {"tool_calls": [{"id": "", "index": 0}]}}]},
        {"id": "b594b7e1-3dbb-4b65", "system_fingerprint": None, "usage": None},
        DONE,
    ]
    assert normalize_stream(chunks) == [
        {
            "id": "chatcmpl-1",
            "created": 0,
            "choices": [{"delta": {"tool_calls": [{"id": "id_1", "index": 0}]}}],
        },
        {"id": "chatcmpl-1", "created": 0, "choices": [{"delta": {"tool_calls": [{"id": "", "index": 0}]}}]},
        {"id": "id_2", "system_fingerprint": None, "usage": None},
        DONE,
    ]


def test_ciphertext_is_replaced_and_drop_removes_keys_anywhere() -> None:
    item = {"id": "rs_1", "encrypted_content": "gAAAA", "summary": [], "meta": {"system_fingerprint": "fp_1"}}
    assert normalize(item, drop=["system_fingerprint"]) == {
        "id": "rs_1",
        "encrypted_content": OPAQUE,
        "summary": [],
        "meta": {},
    }
    assert normalize({"encrypted_content": None}) == {"encrypted_content": None}


def test_booleans_and_strings_under_timestamp_keys_are_kept() -> None:
    assert normalize({"created": True, "created_at": "yesterday"}) == {
        "created": True,
        "created_at": "yesterday",
    }


def test_input_is_not_mutated() -> None:
    event = {"sequence_number": 3, "response": {"id": "resp_x", "created_at": 9}, "obfuscation": "abc"}
    before = copy.deepcopy(event)
    normalize(event)
    assert event == before


def test_normalizer_keeps_one_mapping_across_calls() -> None:
    normalizer = Normalizer()
    assert normalizer({"id": "msg_z"}) == {"id": "msg_1"}
    assert normalizer({"item_id": "msg_y"}) == {"item_id": "msg_2"}
    assert normalizer({"item_id": "msg_z"}) == {"item_id": "msg_1"}
    assert normalizer.rename("msg_y") == "msg_2"


def test_sdk_objects_are_dumped_first() -> None:
    from openai.types.chat import ChatCompletionChunk

    raw = {
        "id": "chatcmpl-Q",
        "object": "chat.completion.chunk",
        "created": 17,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}],
    }
    assert normalize(ChatCompletionChunk.model_validate(raw)) == normalize(raw)


def _perturb(value: Any, salt: str) -> Any:
    """The same stream as another recording would give it: other ids, timestamps and obfuscation."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in {"id", "item_id", "call_id"} and isinstance(item, str) and item:
                out[key] = item + salt
            elif key in {"created", "created_at", "completed_at"} and isinstance(item, int):
                out[key] = item + 1000
            elif key == "obfuscation":
                out[key] = salt
            elif key == "sequence_number":
                out[key] = item + 5
            else:
                out[key] = _perturb(item, salt)
        return out
    if isinstance(value, list):
        return [_perturb(item, salt) for item in value]
    return value


STREAMS = corpus_params("responses", "openai__*.sse") + corpus_params("chat", "openai__*.sse")


@pytest.mark.parametrize("path", STREAMS)
def test_recordings_differing_only_in_volatile_fields_normalize_equal(path: Path) -> None:
    items = decode(path.read_bytes())
    other = [item if item is DONE else _perturb(item, "Q9") for item in items]
    assert other != items
    assert normalize_stream(other) == normalize_stream(items)


@pytest.mark.parametrize("path", STREAMS)
def test_a_changed_text_does_not_normalize_equal(path: Path) -> None:
    items = decode(path.read_bytes())
    raw = orjson.dumps([item for item in items if item is not DONE])
    for needle in (b'"delta":"', b'"content":"', b'"arguments":"', b'"text":"', b'"model":"'):
        if needle in raw:
            break
    else:
        pytest.fail("no text to change in this stream")
    changed = orjson.loads(raw.replace(needle, needle + b"~", 1))
    assert normalize_stream(changed) != normalize_stream([item for item in items if item is not DONE])


def _all_streams() -> list[Any]:
    return corpus_params("chat", "*.sse") + corpus_params("responses", "*.sse")


@pytest.mark.parametrize("path", _all_streams())
def test_normalize_is_idempotent_on_every_recording(path: Path) -> None:
    once = normalize_stream(decode(path.read_bytes()))
    assert normalize_stream(once) == once


@pytest.mark.parametrize(
    "path", corpus_params("responses_json", "*.json") + corpus_params("chat_json", "*.json")
)
def test_normalize_is_idempotent_on_non_streaming_objects(path: Path) -> None:
    once = normalize(read_json(path))
    assert normalize(once) == once


@pytest.mark.parametrize("path", corpus_params("chat", "openai__*.sse"))
def test_two_translations_with_random_ids_normalize_equal(path: Path) -> None:
    from translator.errors import UnsupportedStreamError
    from translator.streams.chat_to_responses import translate_chat_stream

    data = path.read_bytes()
    try:
        first, second = (list(translate_chat_stream([data])) for _ in range(2))
    except UnsupportedStreamError:  # n>1
        first, second = (list(translate_chat_stream([data], choice=0)) for _ in range(2))
    assert first != second  # fresh random ids each time
    assert normalize_stream(first) == normalize_stream(second)


def test_random_ids_carry_a_mark_that_provider_ids_lack() -> None:
    from translator.ids import SequentialIds, is_synthesized, random_id

    ours = [random_id(prefix) for prefix in ("resp", "msg", "fc", "rs", "call", "chatcmpl")]
    assert all(is_synthesized(value) for value in ours)
    assert ours[0].startswith("resp_") and len(ours[0]) == len("resp_") + 48
    assert ours[-1].startswith("chatcmpl-")
    provider = [
        "call_abc",
        "call_3FXfANpBhqAPgnLge5QeURxA",
        "resp_689a0b2545288193953c892439b42e2800b2e36c65a1fd4b",  # OpenAI's real shape, no mark
        "fc_0df7c3d8927b3a940068c9ef446a748194b8266e13adcc9781",
        "call_55117580",
        SequentialIds()("msg"),
    ]
    assert not any(is_synthesized(value) for value in provider)
    tampered = ours[0][:-1] + ("0" if ours[0][-1] != "0" else "1")
    assert not is_synthesized(tampered)


def test_rename_only_synthesized_ids_keeps_provider_ids() -> None:
    from translator.ids import random_id

    resp, item = random_id("resp"), random_id("fc")
    events = [
        {"type": "response.created", "response": {"id": resp}},
        {"type": "response.output_item.added", "item": {"id": item, "call_id": "call_abc"}},
        {"type": "response.output_item.done", "item": {"id": item, "call_id": "call_abc"}},
    ]
    assert normalize_stream(events, rename_ids="synthesized") == [
        {"type": "response.created", "response": {"id": "resp_1"}},
        {"type": "response.output_item.added", "item": {"id": "fc_1", "call_id": "call_abc"}},
        {"type": "response.output_item.done", "item": {"id": "fc_1", "call_id": "call_abc"}},
    ]
    assert normalize_stream(events)[1]["item"]["call_id"] == "call_1"  # the default renames every id
    with pytest.raises(ValueError, match="rename_ids"):
        Normalizer(rename_ids="some")  # type: ignore[arg-type]
