"""Provider error bodies in their many shapes -> OpenAI's error shape with the codes clients act on."""

from __future__ import annotations

import orjson
import pytest
from support.sdk import validate_responses_events

from translator import translate_chat_stream
from translator.protocol.provider_errors import classify_error

# (provider, HTTP status, body as the provider sends it, expected code, expected message start)
CASES = [
    (
        "openai",
        400,
        {
            "error": {
                "message": "This model's maximum context length is 128000 tokens. However, your messages "
                "resulted in 130412 tokens. Please reduce the length of the messages.",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        },
        "context_length_exceeded",
        "This model's maximum context length",
    ),
    (
        "vllm",
        400,
        {
            "object": "error",
            "message": "This model's maximum context length is 4096 tokens. However, you requested 5000"
            " tokens (4000 in the messages, 1000 in the completion).",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        },
        "context_length_exceeded",
        "This model's maximum",
    ),
    (
        "llama.cpp",
        400,
        {
            "error": {
                "code": 400,
                "message": "the request exceeds the available context size, try increasing it",
                "type": "exceed_context_size_error",
                "n_prompt_tokens": 9000,
                "n_ctx": 8192,
            }
        },
        "context_length_exceeded",
        "the request exceeds",
    ),
    (
        "anthropic-compatible",
        400,
        {
            "error": {
                "type": "invalid_request_error",
                "message": "prompt is too long: 210000 tokens > 200000 maximum",
            }
        },
        "context_length_exceeded",
        "prompt is too long",
    ),
    (
        "kimi",
        400,
        {
            "error": {
                "message": "Invalid request: Your request exceeded model token limit: 131072",
                "type": "invalid_request_error",
            }
        },
        "context_length_exceeded",
        "Invalid request",
    ),
    (
        "deepseek",
        402,
        {
            "error": {
                "message": "Insufficient Balance",
                "type": "unknown_error",
                "param": None,
                "code": "invalid_request_error",
            }
        },
        "insufficient_quota",
        "Insufficient Balance",
    ),
    (
        "openai quota",
        429,
        {
            "error": {
                "message": "You exceeded your current quota, please check your plan and billing details.",
                "type": "insufficient_quota",
                "param": None,
                "code": "insufficient_quota",
            }
        },
        "insufficient_quota",
        "You exceeded your current quota",
    ),
    (
        "openrouter credits",
        402,
        {
            "error": {
                "message": "Insufficient credits. Add more using https://openrouter.ai/credits",
                "code": 402,
            }
        },
        "insufficient_quota",
        "Insufficient credits",
    ),
    (
        "groq rate limit",
        429,
        {
            "error": {
                "message": "Rate limit reached for model `llama-3.3-70b-versatile` on tokens per minute.",
                "type": "tokens",
                "code": "rate_limit_exceeded",
            }
        },
        "rate_limit_exceeded",
        "Rate limit reached",
    ),
    (
        "azure content filter",
        400,
        {
            "error": {
                "message": "The response was filtered due to the prompt triggering Azure OpenAI's content"
                " management policy.",
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "status": 400,
            }
        },
        "invalid_prompt",
        "The response was filtered",
    ),
    (
        "ollama missing model",
        404,
        {"error": "model 'llama9' not found, try pulling it first"},
        "model_not_found",
        "model 'llama9'",
    ),
    ("fastapi", 422, {"detail": [{"loc": ["body", "messages"], "msg": "field required"}]}, None, '[{"loc"'),
    (
        "bad key",
        401,
        {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}},
        "invalid_api_key",
        "Incorrect",
    ),
    (
        "server",
        503,
        {"error": {"message": "The server is overloaded"}},
        "server_error",
        "The server is overloaded",
    ),
]


@pytest.mark.parametrize(("provider", "status", "body", "code", "start"), CASES, ids=[c[0] for c in CASES])
def test_provider_error_bodies_get_the_codes_clients_act_on(
    provider: str, status: int, body: dict[str, object], code: str | None, start: str
) -> None:
    error = classify_error(None, status=status, body=orjson.dumps(body))
    assert error.code == code
    assert error.message.startswith(start)
    shaped = error.body()["error"]
    assert set(shaped) == {"message", "type", "code", "param"} and isinstance(shaped["type"], str)


def test_a_body_that_is_not_json_is_quoted_and_bounded() -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1>" + b"x" * 5000 + b"</body></html>"
    error = classify_error(None, status=502, body=page)
    assert error.code == "server_error" and error.message.startswith("<html>") and len(error.message) <= 500
    assert classify_error(None, status=500, body=b"").message == "upstream error (HTTP 500)"


def test_a_length_finish_is_not_mistaken_for_a_context_overflow() -> None:
    """OpenRouter's "Token limit reached" comes with finish_reason length: the output limit."""
    assert classify_error({"code": 400, "message": "Token limit reached"}).code != "context_length_exceeded"


def test_a_mid_stream_context_error_fails_the_response_with_the_code_codex_stops_on() -> None:
    head = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    chunks = [
        {**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "partial"}}]},
        {**head, "choices": [], "error": {"message": "maximum context length is 8192 tokens", "code": 400}},
    ]
    events = list(translate_chat_stream(chunks))
    failed = events[-1]
    assert failed["type"] == "response.failed"
    assert failed["response"]["error"]["code"] == "context_length_exceeded"
    assert failed["response"]["output"][0]["content"][0]["text"] == "partial"
    # the SDK's ResponseError.code list lacks the code the API sends and Codex reads: all else validates
    validate_responses_events(events[:-1])
    validate_responses_events(
        [
            {
                **failed,
                "response": {
                    **failed["response"],
                    "error": {**failed["response"]["error"], "code": "server_error"},
                },
            }
        ]
    )
