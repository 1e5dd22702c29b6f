"""Hostile bodies: converting any generated Responses or Chat request, or any generated upstream answer
object (a chat completion, a response), either succeeds or raises the library's typed error (a
:class:`~translator.errors.TranslatorError` naming the path), never another exception (a ``TypeError`` on
an unhashable ``type``, or on a reasoning item's ``content: true``, were found this way)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.request_strategies import CHAT_FIELDS, RESPONSES_FIELDS, any_json, bodies, field_values, items

from translator.convert.objects import chat_completion_to_response, response_to_chat_completion
from translator.convert.requests import convert_chat_request, convert_responses_request
from translator.errors import TranslatorError

FAST = [HealthCheck.too_slow, HealthCheck.data_too_large]


def converts_or_refuses(convert: Any, body: dict[str, Any]) -> None:
    try:
        convert(body)
    except TranslatorError as exc:
        assert str(exc)


@settings(max_examples=200, deadline=None, suppress_health_check=FAST)
@given(bodies(RESPONSES_FIELDS, st.just("m")))
def test_any_responses_request_converts_or_is_refused_by_name(body: dict[str, Any]) -> None:
    converts_or_refuses(convert_responses_request, body)


@settings(max_examples=200, deadline=None, suppress_health_check=FAST)
@given(bodies(CHAT_FIELDS, st.just("m")))
def test_any_chat_request_converts_or_is_refused_by_name(body: dict[str, Any]) -> None:
    converts_or_refuses(convert_chat_request, body)


@pytest.mark.parametrize(
    ("convert", "body", "path"),
    [
        (
            convert_responses_request,
            {"model": "m", "tools": [{"type": ["function"]}]},
            "request.tools[0].type",
        ),
        (convert_responses_request, {"model": "m", "input": [{"type": {"a": 1}}]}, "request.input[0].type"),
    ],
)
def test_a_type_that_is_no_string_is_refused_naming_it(convert: Any, body: dict[str, Any], path: str) -> None:
    with pytest.raises(TranslatorError) as refused:
        convert(body)
    assert getattr(refused.value, "path", None) == path


#: Chat completion objects as an upstream might send them, with generated values in their corners.
completions = st.fixed_dictionaries(
    {
        "id": st.just("chatcmpl-1"),
        "object": st.just("chat.completion"),
        "model": st.just("m"),
        "choices": st.lists(
            st.fixed_dictionaries(
                {"index": st.just(0), "message": items | any_json},
                optional={"finish_reason": any_json, "logprobs": any_json},
            ),
            max_size=2,
        )
        | any_json,
    },
    optional={"usage": any_json, "created": any_json},
)
#: Response objects, the same way.
responses = st.fixed_dictionaries(
    {"id": st.just("resp_1"), "object": st.just("response"), "status": any_json, "output": field_values},
    optional={"usage": any_json, "model": any_json, "incomplete_details": any_json, "error": any_json},
)


@settings(max_examples=200, deadline=None, suppress_health_check=FAST)
@given(completions)
def test_any_chat_completion_converts_or_is_refused_by_name(completion: dict[str, Any]) -> None:
    converts_or_refuses(chat_completion_to_response, completion)


@settings(max_examples=200, deadline=None, suppress_health_check=FAST)
@given(responses)
def test_any_response_object_converts_or_is_refused_by_name(response: dict[str, Any]) -> None:
    converts_or_refuses(response_to_chat_completion, response)
