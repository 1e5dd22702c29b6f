"""The Responses state through a gateway, from the client's side: an SDK client of a gateway, the store
spec a backend gives the gateway, and what the chat upstream received (imports ``openai``)."""

from __future__ import annotations

from typing import Any

import openai

from .fake_upstream import FakeUpstream
from .gateway import RunningGateway
from .store_helpers import Backend

__all__ = ["API_KEY", "AUTH", "client_of", "gateway_store", "sent_messages", "sent_texts"]

#: The key the test clients send (the gateway passes it through, and makes their owner of it).
API_KEY = "sk-test"
#: The same, for raw HTTP requests that must see the SDK client's state.
AUTH = {"authorization": f"Bearer {API_KEY}"}


def gateway_store(backend: Backend) -> str:
    """The ``--store`` value of ``backend`` (with its own Redis key prefix)."""
    return f"{backend.spec}?key_prefix={backend.prefix}" if backend.prefix else backend.spec


def client_of(gateway: RunningGateway | str, **options: Any) -> openai.OpenAI:
    url = gateway if isinstance(gateway, str) else gateway.url
    return openai.OpenAI(base_url=f"{url}/v1", api_key=API_KEY, max_retries=0, **options)


def sent_texts(message: dict[str, Any]) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content or [])


def sent_messages(upstream: FakeUpstream) -> list[tuple[str, str]]:
    """(role, text) of the messages the upstream received last."""
    return [(message["role"], sent_texts(message)) for message in upstream.last().body["messages"]]
