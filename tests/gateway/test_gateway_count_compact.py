"""``POST /v1/responses/input_tokens`` and ``POST /v1/responses/compact`` over chat upstreams (and relayed
to a Responses upstream), with the official SDK as the client, on every store backend.

The fake upstream's "tokenizer" (``fake_token_count``) counts what it was sent, so an exact method's
answer must equal the count of the very messages the upstream received.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import CompactedResponse, InputTokenCountResponse, ResponseCompactionItem
from openai.types.responses.response_input_message_item import ResponseInputMessageItem
from support.fake_upstream import UPSTREAM_COMPACTION, UPSTREAM_INPUT_TOKENS, FakeUpstream, fake_token_count
from support.gateway import RunningGateway
from support.state_client import AUTH, client_of, gateway_store, sent_messages, sent_texts
from support.store_helpers import Backend

from translator.gateway.app import Gateway
from translator.gateway.compaction import COMPACTION_PROMPT, SUMMARY_PREFIX
from translator.gateway.config import load_config
from translator.gateway.token_count import estimate_tokens

LOOKUP = {
    "type": "function",
    "name": "lookup",
    "description": "Look a name up.",
    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
}


def write_config(path: Path, upstream: FakeUpstream, store: str) -> Path:
    lines = [f'[server]\nstore = "{store}"\ndefault_upstream = "est"\n']
    for name, method in (
        ("est", "estimate"),
        ("vllm", "vllm"),
        ("llama", "llama.cpp"),
        ("comp", "completion"),
    ):
        lines.append(f'[upstreams.{name}]\nbase_url = "{upstream.url}"\n')
        lines.append(f'[upstreams.{name}.capabilities]\ncount_tokens = "{method}"\n')
        lines.append(f'[models."{name}"]\nupstream = "{name}"\nmodel = "{name}-upstream"\n')
    lines.append(f'[upstreams.resp]\nbase_url = "{upstream.url}"\nprotocol = "responses"\n')
    lines.append('[models."resp"]\nupstream = "resp"\nmodel = "gpt-upstream"\n')
    lines.append('[models."gpt-6-luna"]\nupstream = "est"\n')
    path.write_text("\n".join(lines))
    return path


@pytest.fixture
def gateway(store_backend: Backend, upstream: FakeUpstream, tmp_path: Path) -> Iterator[RunningGateway]:
    config = load_config(write_config(tmp_path / "gateway.toml", upstream, gateway_store(store_backend)))
    running = RunningGateway(Gateway(config)).start()
    yield running
    running.stop()


@pytest.fixture
def client(gateway: RunningGateway) -> Iterator[openai.OpenAI]:
    with client_of(gateway) as sdk:
        yield sdk


def counted(gateway: RunningGateway, body: dict[str, Any]) -> tuple[int, str]:
    raw = httpx.post(f"{gateway.url}/v1/responses/input_tokens", headers=AUTH, json=body, timeout=30)
    assert raw.status_code == 200, raw.text
    answer = InputTokenCountResponse.model_validate(raw.json())
    return answer.input_tokens, raw.headers.get("x-translator-token-count", "")


# -- input tokens ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["vllm", "llama", "comp"])
def test_exact_counts_are_the_upstreams_count_of_what_it_received(
    client: openai.OpenAI, gateway: RunningGateway, upstream: FakeUpstream, model: str
) -> None:
    first = client.responses.create(model="est", input="My name is Ada Lovelace.")
    result = client.responses.input_tokens.count(
        model=model,
        input="What is my name, again?",
        previous_response_id=first.id,
        instructions="Answer in one word.",
        tools=[LOOKUP],  # type: ignore[list-item]
    )
    assert result.object == "response.input_tokens"
    seen = upstream.last()
    messages = seen.body.get("messages")
    if model == "llama":  # the template's prompt, tokenized
        assert seen.path == "/tokenize"
        template = upstream.seen[-2]
        assert template.path == "/apply-template"
        messages = template.body["messages"]
        assert result.input_tokens == len(seen.body["content"].split())
    elif model == "vllm":
        assert seen.path == "/tokenize" and seen.body["add_generation_prompt"] is True
        assert result.input_tokens == fake_token_count(messages) + fake_token_count(seen.body["tools"])
    else:
        assert seen.path == "/v1/chat/completions" and seen.body["max_completion_tokens"] == 1
        assert "stream" not in seen.body
        assert result.input_tokens == fake_token_count(messages) + fake_token_count(seen.body["tools"])
    # the count is of the whole conversation, as converted
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"] == "Hello from est-upstream"


def test_estimates_say_so_and_grow_with_the_input(gateway: RunningGateway, upstream: FakeUpstream) -> None:
    calls = len(upstream.seen)
    short, kind = counted(gateway, {"model": "est", "input": "Hello there."})
    assert kind == "estimate" and 5 <= short <= 20
    longer, _ = counted(gateway, {"model": "est", "input": "Hello there. " * 100})
    assert 150 < longer < 600
    no_model, _ = counted(gateway, {"input": "Hello there."})  # the default upstream estimates
    assert no_model == short
    assert len(upstream.seen) == calls  # estimating calls nobody
    params = {"messages": [{"role": "user", "content": "Hello there."}]}
    assert short == estimate_tokens(params)
    _, kind = counted(gateway, {"model": "comp", "input": "Hello there."})
    assert kind == "exact"


def test_counting_relayed_and_refused(
    client: openai.OpenAI, gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    relayed = client.responses.input_tokens.count(model="resp", input="hi")
    assert relayed.input_tokens == UPSTREAM_INPUT_TOKENS
    assert (
        upstream.last().path == "/v1/responses/input_tokens"
        and upstream.last().body["model"] == "gpt-upstream"
    )
    with pytest.raises(openai.NotFoundError) as missing:
        client.responses.input_tokens.count(model="est", input="x", previous_response_id="resp_unknown")
    assert missing.value.code == "previous_response_not_found"
    with pytest.raises(openai.NotFoundError):
        client.responses.input_tokens.count(model="est", input=[{"type": "item_reference", "id": "msg_x"}])  # type: ignore[list-item]
    with pytest.raises(openai.NotFoundError) as unrouted:
        client.responses.input_tokens.count(model="nope", input="x")
    assert unrouted.value.code == "model_not_found"
    # any other path under /v1/responses/ is a 404 naming it; the counting path takes POST only
    other = httpx.post(f"{gateway.url}/v1/responses/resp_1/count", headers=AUTH)
    assert other.status_code == 404 and "/v1/responses/resp_1/count" in other.json()["error"]["message"]
    wrong = httpx.get(f"{gateway.url}/v1/responses/input_tokens", headers=AUTH)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"


# -- compaction -------------------------------------------------------------------------------------------


def test_compaction_summarizes_and_the_summary_replaces_the_turns(
    client: openai.OpenAI, gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    first = client.responses.create(model="est", input="My name is Ada.")
    second = client.responses.create(model="est", input="I like engines.", previous_response_id=first.id)
    answer = client.responses.with_raw_response.compact(model="gpt-6-luna", previous_response_id=second.id)
    compacted = answer.parse()
    assert isinstance(compacted, CompactedResponse) and compacted.object == "response.compaction"
    # (the API lists user messages among output items, which the SDK types as assistant messages: read
    # the JSON for them)
    raw = answer.http_response.json()
    # what the upstream was asked: the conversation, then the compaction prompt
    asked = sent_messages(upstream)
    assert asked[:4] == [
        ("user", "My name is Ada."),
        ("assistant", "Hello from est-upstream"),
        ("user", "I like engines."),
        ("assistant", "Hello from est-upstream"),
    ]
    assert asked[-1] == ("user", COMPACTION_PROMPT)
    # what came back: the user messages, then one compaction item
    users = [ResponseInputMessageItem.model_validate(item) for item in raw["output"][:-1]]
    assert [u.content[0].text for u in users] == ["My name is Ada.", "I like engines."]  # type: ignore[union-attr]
    item = ResponseCompactionItem.model_validate(raw["output"][-1])
    assert item.type == "compaction" and "Hello" not in item.encrypted_content  # sealed, not readable
    assert compacted.usage.total_tokens > 0
    # the output sent back as input: the upstream receives the summary in place of the earlier turns
    client.responses.create(model="est", input=[*raw["output"], {"role": "user", "content": "And my name?"}])
    assert sent_messages(upstream) == [
        ("user", "My name is Ada."),
        ("user", "I like engines."),
        ("user", SUMMARY_PREFIX + "Hello from gpt-6-luna"),
        ("user", "And my name?"),
    ]
    # compacting again, with the first compaction in the input: the summary covers it
    again = client.responses.with_raw_response.compact(
        model="gpt-6-luna", input=[*raw["output"], {"role": "user", "content": "More."}]
    )
    kinds = [item["type"] for item in again.http_response.json()["output"]]
    assert kinds == ["message", "message", "message", "compaction"]
    assert (SUMMARY_PREFIX.split("\n")[0]) in upstream.last().body["messages"][2]["content"]


def test_foreign_or_malformed_compaction_items_are_refused(
    client: openai.OpenAI, gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    calls = len(upstream.seen)
    for content in ("sealed-by-openai", "tg1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ""):
        item = {"type": "compaction", "id": "cmp_foreign", "encrypted_content": content}
        with pytest.raises(openai.BadRequestError) as refused:
            client.responses.create(model="est", input=[item, {"role": "user", "content": "hi"}])  # type: ignore[list-item]
        assert refused.value.body["param"] == "input[0].encrypted_content"  # type: ignore[index]
        assert "cmp_foreign" in refused.value.message
    with pytest.raises(openai.BadRequestError):
        client.responses.compact(model="gpt-6-luna", input=[{"type": "compaction", "encrypted_content": "x"}])  # type: ignore[list-item]
    with pytest.raises(openai.BadRequestError) as nothing:
        client.responses.compact(model="gpt-6-luna")
    assert nothing.value.body["param"] == "input"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as automatic:
        client.responses.create(
            model="est",
            input="x",
            extra_body={"context_management": [{"type": "compaction", "compact_threshold": 1000}]},
        )
    assert automatic.value.body["param"] == "context_management"  # type: ignore[index]
    assert len(upstream.seen) == calls


def test_compaction_relayed_to_a_responses_upstream(
    client: openai.OpenAI, gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    compacted = client.responses.compact(model="resp", input="hello")
    assert compacted.output[0].encrypted_content == UPSTREAM_COMPACTION  # type: ignore[union-attr]
    assert upstream.last().path == "/v1/responses/compact" and upstream.last().body["model"] == "gpt-upstream"


@pytest.mark.parametrize("mode", ["previous_response_id", "input"])
def test_openai_agents_compaction_session(gateway: RunningGateway, upstream: FakeUpstream, mode: str) -> None:
    from agents import Agent, OpenAIResponsesModel, Runner, SQLiteSession, set_tracing_disabled
    from agents.memory import OpenAIResponsesCompactionSession

    set_tracing_disabled(True)

    async def turns() -> list[list[tuple[str, str]]]:
        sdk = openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key="sk-test", max_retries=0)
        seen: list[list[tuple[str, str]]] = []
        first = len(upstream.seen)
        try:
            agent = Agent(name="a", model=OpenAIResponsesModel("gpt-6-luna", sdk))
            session = OpenAIResponsesCompactionSession(
                "s",
                SQLiteSession("s"),
                client=sdk,
                model="gpt-6-luna",
                compaction_mode=mode,  # type: ignore[arg-type]
                should_trigger_compaction=lambda context: len(context["compaction_candidate_items"]) >= 2,
            )
            for n in range(4):
                await Runner.run(agent, f"turn {n}", session=session)
                turn = [
                    s
                    for s in upstream.seen[first:]
                    if s.path.endswith("/chat/completions")
                    and s.body["messages"][-1].get("content") != COMPACTION_PROMPT
                ]
                seen.append([(m["role"], sent_texts(m)) for m in turn[-1].body["messages"]])
        finally:
            await sdk.close()
        return seen

    seen = asyncio.run(turns())
    answer = ("assistant", "Hello from gpt-6-luna")
    summary = ("user", SUMMARY_PREFIX + "Hello from gpt-6-luna")
    assert seen[0] == [("user", "turn 0")]
    assert seen[1] == [("user", "turn 0"), answer, ("user", "turn 1")]
    # after the second turn the session was compacted: the earlier answers are replaced by the summary
    assert seen[2] == [("user", "turn 0"), ("user", "turn 1"), summary, ("user", "turn 2")]
    # one new answer since: not yet compacted again (the trigger wants two)
    assert seen[3] == [
        ("user", "turn 0"),
        ("user", "turn 1"),
        summary,
        ("user", "turn 2"),
        answer,
        ("user", "turn 3"),
    ]
