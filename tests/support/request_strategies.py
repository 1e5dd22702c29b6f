"""Hypothesis strategies for hostile request bodies: the API's field names and item shapes, filled with any
JSON, so generated bodies get past the first checks and reach the conversions' corners."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

#: Words the converters branch on (types, roles, modes), so generated values hit real branches.
WORDS = [
    "function", "message", "user", "assistant", "system", "developer", "tool", "input_text",
    "output_text", "text", "image_url", "input_image", "function_call", "function_call_output",
    "reasoning", "web_search", "auto", "required", "none", "json_schema", "json_object", "file_search",
    "custom", "item_reference", "refusal", "input_file", "input_audio", "summary_text", "low", "high",
    "mcp", "computer_use_preview", "local_shell", "compaction", "namespace", "tool_search", "grammar",
    "allowed_tools", "completed", "in_progress", "incomplete",
]  # fmt: skip
#: Keys that items, content parts and tools have.
KEYS = [
    "type", "role", "content", "text", "name", "arguments", "call_id", "id", "output", "parameters",
    "function", "tool_calls", "tools", "strict", "description", "image_url", "url", "detail", "format",
    "schema", "json_schema", "summary", "encrypted_content", "status", "input", "tool_call_id",
    "refusal", "file_data", "filename", "file_id", "input_audio", "data", "effort", "verbosity",
    "allowed_tools", "mode", "tool_choice", "server_label", "logprobs", "annotations",
]  # fmt: skip
RESPONSES_FIELDS = [
    "input", "instructions", "tools", "tool_choice", "text", "reasoning", "max_output_tokens",
    "temperature", "top_p", "stream", "store", "metadata", "parallel_tool_calls", "include",
    "truncation", "user", "previous_response_id", "prompt_cache_key", "safety_identifier",
    "service_tier", "top_logprobs", "stream_options", "background", "conversation", "prompt",
    "max_tool_calls",
]  # fmt: skip
CHAT_FIELDS = [
    "messages", "tools", "tool_choice", "functions", "function_call", "response_format", "max_tokens",
    "max_completion_tokens", "temperature", "top_p", "n", "stop", "stream", "stream_options",
    "logprobs", "top_logprobs", "user", "seed", "reasoning_effort", "modalities", "audio", "prediction",
    "web_search_options", "metadata", "store", "parallel_tool_calls", "logit_bias",
    "presence_penalty", "frequency_penalty", "verbosity", "service_tier",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-1e6, 1e6),
    st.text(max_size=6),
    st.sampled_from(WORDS),
)
any_json: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=5),
    ),
    max_leaves=20,
)
objects = st.dictionaries(st.sampled_from(KEYS), any_json, max_size=6)
items = st.fixed_dictionaries(
    {},
    optional={
        "type": scalars | any_json,
        "role": scalars,
        "content": st.text(max_size=5) | st.lists(objects, max_size=3) | any_json,
        "id": scalars,
        "call_id": scalars,
        "name": scalars,
        "arguments": scalars,
        "output": scalars | st.lists(objects, max_size=2),
        "summary": any_json,
        "status": scalars,
        "tool_calls": st.lists(objects, max_size=2) | any_json,
        "tool_call_id": scalars,
        "function": objects | any_json,
        "parameters": any_json,
        "format": any_json,
    },
)
texts = st.text(max_size=8)
ids = st.sampled_from(["fc_1", "msg_1", "rs_1", "call_1", "call_2"]) | scalars
#: Items a real client sends (both protocols' shapes), with a generated extra field now and then.
well_formed = st.one_of(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["user", "assistant", "system", "developer", "tool"]),
            "content": texts
            | st.lists(
                st.fixed_dictionaries(
                    {"type": st.sampled_from(["input_text", "output_text", "text", "refusal"]), "text": texts}
                ),
                max_size=3,
            ),
        },
        optional={"type": st.just("message"), "id": ids, "tool_call_id": ids, "name": texts},
    ),
    st.fixed_dictionaries(
        {"type": st.just("function_call"), "call_id": ids, "name": texts, "arguments": texts},
        optional={"id": ids, "status": scalars},
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("function_call_output"),
            "call_id": ids,
            "output": texts | st.lists(objects, max_size=2),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("reasoning"),
            "summary": st.lists(
                st.fixed_dictionaries({"type": st.just("summary_text"), "text": texts}), max_size=2
            ),
        },
        optional={"id": ids, "encrypted_content": scalars, "content": any_json},
    ),
    st.fixed_dictionaries(
        {
            "role": st.just("assistant"),
            "tool_calls": st.lists(
                st.fixed_dictionaries(
                    {
                        "id": ids,
                        "type": st.just("function"),
                        "function": st.fixed_dictionaries({"name": texts, "arguments": texts}),
                    }
                ),
                max_size=2,
            ),
        },
        optional={"content": texts | st.none()},
    ),
    st.fixed_dictionaries({"type": st.just("item_reference"), "id": ids}),
)
items = st.one_of(well_formed, well_formed, items)
#: What a top-level field gets: mostly lists of item-like objects, sometimes anything.
field_values = st.one_of(st.lists(items, max_size=4), items, any_json, st.text(max_size=5))


tools_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["function", "custom", "web_search", "namespace"]) | scalars | any_json},
    optional={
        "name": texts,
        "parameters": any_json,
        "function": st.fixed_dictionaries({"name": texts}, optional={"parameters": any_json}),
        "format": any_json,
        "tools": st.lists(objects, max_size=2),
        "strict": scalars,
    },
)
#: Fields with a shape of their own (tools: a list of tool-like objects, mostly).
SHAPED_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "tools": st.one_of(st.lists(tools_like, min_size=1, max_size=3), field_values),
    "tool_choice": st.one_of(st.sampled_from(["auto", "none", "required"]), tools_like, field_values),
    "text": st.fixed_dictionaries({}, optional={"format": objects, "verbosity": scalars}) | field_values,
    "response_format": objects | field_values,
}


def bodies(
    fields: list[str], model: st.SearchStrategy[Any], required: str | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Request bodies: ``model`` (left out where it draws ``None``), up to five of ``fields`` with
    generated values, and ``required`` (mostly a list of item-like objects) when given."""
    # mostly lists of items (three list strategies to one of anything)
    value = st.one_of(
        st.lists(items, min_size=1, max_size=2),
        st.lists(items, min_size=2, max_size=4),
        st.lists(well_formed, min_size=1, max_size=3),
        field_values,
    )
    must = {required: value} if required else {}
    chosen = st.lists(st.sampled_from(fields), max_size=5, unique=True).flatmap(
        lambda names: st.fixed_dictionaries({name: SHAPED_FIELDS.get(name, field_values) for name in names})
    )
    return st.builds(
        lambda chosen, fixed, name: {**chosen, **fixed, **({"model": name} if name is not None else {})},
        chosen,
        st.fixed_dictionaries(must),
        model,
    )
