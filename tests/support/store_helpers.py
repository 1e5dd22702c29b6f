"""Builders for the response-store tests (imported by the worker process too, so no openai import here)."""

from __future__ import annotations

import itertools
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from translator.gateway.store import (
    MemoryResponseStore,
    ResponseStore,
    SQLiteResponseStore,
    open_store,
    stored_input_items,
)
from translator.protocol.mapping import response_shell

REDIS_URL = os.environ.get("TRANSLATOR_TEST_REDIS", "redis://127.0.0.1:6379/0")
#: Every Redis key a test run writes starts with this (plus a number per test).
RUN_PREFIX = f"translator-test:{secrets.token_hex(4)}:"
PREFIXES = itertools.count()
#: The owner the store tests store under (the gateway's owners look like ``o_`` + hex).
OWNER = "o_test_owner"
#: Another owner, for whom ``OWNER``'s responses do not exist.
OTHER_OWNER = "o_other_owner"


def redis_unavailable() -> str | None:
    """Why Redis tests cannot run here, or None when a Redis answers."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError as exc:
        return (
            f"no Redis reachable at {REDIS_URL} ({exc}); start one or set TRANSLATOR_TEST_REDIS"
            " (CI must run these)"
        )
    return None


def delete_redis_keys(prefix: str) -> None:
    """Delete the keys under ``prefix`` (one of ours: no glob characters in it), and no others."""
    assert prefix.startswith(RUN_PREFIX) and not set(prefix) & set("*?[]\\")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.unlink(*keys)


@dataclass
class Backend:
    """How to open (and reopen) one backend's store; ``fresh()`` gives another, empty one."""

    name: str
    spec: str
    prefix: str | None = None

    def open(self, **options: Any) -> ResponseStore:
        return open_store(self.spec, key_prefix=self.prefix, **options)

    def fresh(self, directory: Path) -> Backend:
        if self.name == "sqlite":
            return Backend("sqlite", f"sqlite:{directory / f'{next(PREFIXES)}.sqlite3'}")
        if self.name == "redis":
            return Backend("redis", REDIS_URL, f"{self.prefix}{next(PREFIXES)}:")
        return self


def message_out(item_id: str, text: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def reasoning_out(item_id: str, text: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text}],
        "encrypted_content": f"opaque-{item_id}",
    }


def call_out(item_id: str, call_id: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "call_id": call_id,
        "name": "lookup",
        "arguments": '{"q": "x"}',
        "status": "completed",
    }


def make_response(
    response_id: str,
    *,
    parent: str | None = None,
    status: str = "completed",
    output: list[dict[str, Any]] | None = None,
    background: bool = False,
) -> dict[str, Any]:
    """A Response object as the gateway would store it (``store: true``)."""
    response = response_shell(
        response_id=response_id,
        created_at=1_760_000_000,
        model="test-model",
        status=status,
        params={"store": True, "previous_response_id": parent},
    )
    if output is None:
        output = [reasoning_out(f"rs_{response_id}", "thinking"), message_out(f"msg_{response_id}", "reply")]
    response["output"] = output
    response["background"] = background
    return response


def turn_input(response_id: str, n: int = 1) -> list[dict[str, Any]]:
    """``n`` user messages with ids derived from ``response_id`` (so tests can name them)."""
    return stored_input_items(
        [
            {"role": "user", "content": f"question {k} of {response_id}", "id": f"msg_in_{response_id}_{k}"}
            for k in range(n)
        ]
    )


async def stored_records(store: ResponseStore) -> int:
    """How many responses (live or tombstoned) the backend still holds, read from its storage itself."""
    if isinstance(store, MemoryResponseStore):
        return len(store._table.entries)
    if isinstance(store, SQLiteResponseStore):
        with sqlite3.connect(store.path) as db:
            rows = db.execute("SELECT count(*) FROM responses").fetchone()[0]
            items = db.execute("SELECT count(*) FROM items").fetchone()[0]
        return int(rows) + int(items)
    redis = store._redis  # type: ignore[attr-defined]
    keys = [key async for key in redis.scan_iter(match=f"{store.key_prefix}*")]  # type: ignore[attr-defined]
    return len(keys)
