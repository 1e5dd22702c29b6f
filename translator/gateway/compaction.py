"""Compaction over chat upstreams: ``POST /v1/responses/compact``, and compaction items coming back.

Compacting a conversation asks the upstream model for a summary of it (the conversation, then one user
message with :data:`COMPACTION_PROMPT`), and answers the API's ``response.compaction`` object: every
user message of the conversation, in order, then one ``compaction`` item whose ``encrypted_content`` is
the summary sealed by :class:`~translator.gateway.sealing.Sealer` (readable by this gateway alone, for
the owner it was made for).

When a ``compaction`` item comes back in a later request's ``input`` (or in a stored conversation), the
upstream receives, in its place, one user message: :data:`SUMMARY_PREFIX` followed by the summary.  A
compaction item whose content this gateway cannot open (another gateway's, another owner's, OpenAI's,
or changed) is a 400 naming the item.

This module builds requests and answers; it never writes to the client.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..ids import random_id, system_clock
from .errors import GatewayError
from .sealing import Sealer, SealError

__all__ = ["COMPACTION_PROMPT", "SUMMARY_PREFIX", "Compaction"]

#: The instruction the upstream model summarizes the conversation with (the last, user, message).
COMPACTION_PROMPT = (
    "Summarize the conversation above so that it can be continued from your summary alone, in place of"
    " everything before it. Keep: the user's goals, requests and constraints; facts, names, numbers and"
    " decisions; what was done (tool calls and their results that still matter); what is still open and"
    " the next step. Leave out pleasantries and repetition. Write the summary only, no preamble."
)
#: What the upstream receives in place of a compaction item: a user message of this then the summary.
SUMMARY_PREFIX = "Summary of the earlier conversation (it replaces the turns before this message):\n\n"


def _is_user_message(item: dict[str, Any]) -> bool:
    return item.get("type", "message") == "message" and item.get("role") == "user"


class Compaction:
    """Compaction items for one gateway: made, opened and replaced by their summary."""

    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    def item(self, summary: str, owner: str) -> dict[str, Any]:
        """A new compaction item holding ``summary``, for ``owner``."""
        sealed = self._sealer.seal(orjson.dumps({"summary": summary}), owner)
        return {"id": random_id("cmp"), "type": "compaction", "encrypted_content": sealed}

    def summary(self, item: dict[str, Any], owner: str, where: str) -> str:
        """The summary a compaction item holds; 400 naming ``where`` when this gateway cannot open it."""
        content = item.get("encrypted_content")
        name = f"compaction item {item['id']!r}" if isinstance(item.get("id"), str) else "compaction item"
        if not isinstance(content, str) or not content:
            raise GatewayError.bad_request(
                f"{name} has no 'encrypted_content'", param=f"{where}.encrypted_content"
            )
        try:
            opened = orjson.loads(self._sealer.open(content, owner))
        except (SealError, orjson.JSONDecodeError) as exc:
            raise GatewayError.bad_request(
                f"{name} cannot be read by this gateway: {exc}",
                param=f"{where}.encrypted_content",
                code="invalid_encrypted_content",
            ) from None
        summary = opened.get("summary") if isinstance(opened, dict) else None
        if not isinstance(summary, str):
            raise GatewayError.bad_request(f"{name} holds no summary", param=f"{where}.encrypted_content")
        return summary

    def expand(self, items: list[dict[str, Any]], owner: str, *, first: int = 0) -> list[dict[str, Any]]:
        """``items`` with every compaction item replaced by the user message carrying its summary.

        ``first`` is the position of ``items[0]`` in the request's ``input`` (for the error's ``param``;
        negative for items of a stored conversation).
        """
        if not any(item.get("type") == "compaction" for item in items):
            return items
        expanded: list[dict[str, Any]] = []
        for n, item in enumerate(items):
            if item.get("type") != "compaction":
                expanded.append(item)
                continue
            where = f"input[{first + n}]" if first + n >= 0 else "input"
            text = SUMMARY_PREFIX + self.summary(item, owner, where)
            expanded.append(
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
            )
        return expanded

    @staticmethod
    def request(model: str, conversation: list[dict[str, Any]], instructions: Any) -> dict[str, Any]:
        """The Responses request (over the chat upstream) that asks for the summary of ``conversation``
        (compaction items already expanded)."""
        prompt = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": COMPACTION_PROMPT}],
        }
        request: dict[str, Any] = {
            "model": model,
            "input": [*conversation, prompt],
            "stream": False,
            "store": False,
        }
        if isinstance(instructions, str):
            request["instructions"] = instructions
        return request

    def compacted(
        self, conversation: list[dict[str, Any]], summarized: dict[str, Any], owner: str
    ) -> dict[str, Any]:
        """The ``response.compaction`` object: the user messages of ``conversation`` (as stored, compaction
        items left out), then the compaction item holding the summary the upstream wrote
        (``summarized``, its final Response)."""
        summary = "".join(
            part.get("text", "")
            for item in summarized.get("output") or []
            if item.get("type") == "message"
            for part in item.get("content") or []
            if part.get("type") == "output_text"
        ).strip()
        if not summary:
            raise GatewayError(
                502,
                "the upstream model wrote no summary (its answer had no text)",
                type="upstream_error",
                code="bad_upstream",
            )
        users = [item for item in conversation if _is_user_message(item)]
        return {
            "id": random_id("resp"),
            "object": "response.compaction",
            "created_at": int(system_clock()),
            "output": [*users, self.item(summary, owner)],
            "usage": summarized.get("usage") or _NO_USAGE,
        }


_NO_USAGE = {
    "input_tokens": 0,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 0,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 0,
}
