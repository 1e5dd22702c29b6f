"""Chat function names for Responses tools, and the tool map that turns them back.

A Chat upstream knows only functions named ``^[a-zA-Z0-9_-]{1,64}$`` (OpenAI's rule, enforced by
strict servers such as vLLM, Groq and Mistral).  Responses tools have more identities: a function
inside a ``namespace``, a ``custom`` (freeform) tool, the client-executed ``tool_search``.  Each
identity gets one Chat name, the same for every mention in a request (tool list, history calls,
``tool_choice``):

* an un-namespaced function or custom tool keeps its name when it is valid and free;
* a namespaced tool becomes ``<namespace>__<name>``; ``tool_search`` becomes ``tool_search``;
* a name that is invalid (other characters become ``_``), longer than 64 characters, or taken gets
  a suffix made from a SHA-256 of its identity (``_`` + 10 hex digits), cut to fit 64 characters.
  The suffix depends only on the identity, so a conversation sees the same names on every turn.

Names are handed out in two passes (:meth:`ToolNames.assign`): valid un-namespaced names first, so
that a plain function never loses its name to a flattened one, then everything else.

:meth:`ToolNames.tool_map` is what the stream translator (``ChatToResponses(tool_map=...)``) needs to
turn a Chat call back into the Responses item the client expects: ``chat name -> identity``, where
the identity is ``{"type": "function", "name", "namespace"}``, ``{"type": "custom", "name"}`` (the
Chat arguments are ``{"input": "<string>"}``) or ``{"type": "tool_search"}``.  Plain functions
that kept their name have no entry.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal, NamedTuple

__all__ = [
    "CUSTOM_INPUT",
    "MAX_NAME_LENGTH",
    "NAMESPACE_SEPARATOR",
    "NAME_PATTERN",
    "TOOL_SEARCH",
    "ToolIdentity",
    "ToolNames",
    "loaded_identities",
]

#: Function names every Chat upstream accepts (OpenAI's documented rule).
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_NAME_LENGTH = 64
#: Joins a namespace and a tool name into one Chat function name.
NAMESPACE_SEPARATOR = "__"
#: The one string parameter a custom (freeform) tool takes as a Chat function.
CUSTOM_INPUT = "input"
#: The Chat name asked for the client-executed tool search tool.
TOOL_SEARCH = "tool_search"

_INVALID = re.compile(r"[^a-zA-Z0-9_-]")
_DIGEST = 10

ToolKind = Literal["function", "custom", "tool_search"]


class ToolIdentity(NamedTuple):
    """What a Responses client calls a tool: its kind, name and namespace (a tuple: hashed a few times
    per tool, and a request may declare tens of thousands)."""

    kind: ToolKind
    name: str = TOOL_SEARCH
    namespace: str | None = None

    @property
    def natural_name(self) -> str:
        """The Chat name this identity would like: its name, or ``namespace__name``."""
        if self.namespace is None:
            return self.name
        return f"{self.namespace}{NAMESPACE_SEPARATOR}{self.name}"

    def entry(self) -> dict[str, str]:
        """The tool-map value for this identity."""
        if self.kind == "tool_search":
            return {"type": "tool_search"}
        out = {"type": self.kind, "name": self.name}
        if self.namespace is not None:
            out["namespace"] = self.namespace
        return out


class ToolNames:
    """Hands out one valid, unique, stable Chat function name per tool identity.

    Not thread-safe; make one per request.
    """

    __slots__ = ("_by_identity", "_by_name")

    def __init__(self) -> None:
        self._by_identity: dict[ToolIdentity, str] = {}
        self._by_name: dict[str, ToolIdentity] = {}

    def assign(self, identities: Iterable[ToolIdentity]) -> None:
        """Name ``identities`` (those not named yet), valid un-namespaced names first."""
        pending = [i for i in dict.fromkeys(identities) if i not in self._by_identity]
        for identity in pending:
            if identity.namespace is None and identity.kind != "tool_search":
                self._claim_natural(identity)
        for identity in pending:
            self.chat_name(identity)

    def chat_name(self, identity: ToolIdentity) -> str:
        """The Chat name of ``identity``, handed out now if it has none yet."""
        name = self._by_identity.get(identity)
        if name is None:
            name = self._claim_natural(identity) or self._claim_hashed(identity)
        return name

    def identity(self, chat_name: str) -> ToolIdentity | None:
        """The identity that was given ``chat_name``, if any."""
        return self._by_name.get(chat_name)

    def tool_map(self) -> dict[str, dict[str, str]]:
        """``chat name -> identity`` for every name a plain ``function_call`` item could not carry."""
        return {
            name: identity.entry()
            for name, identity in self._by_name.items()
            if identity.kind != "function" or identity.namespace is not None or name != identity.name
        }

    def _claim(self, identity: ToolIdentity, name: str) -> str:
        self._by_identity[identity] = name
        self._by_name[name] = identity
        return name

    def _claim_natural(self, identity: ToolIdentity) -> str | None:
        name = identity.natural_name
        if NAME_PATTERN.match(name) and name not in self._by_name:
            return self._claim(identity, name)
        return None

    def _claim_hashed(self, identity: ToolIdentity) -> str:
        base = _INVALID.sub("_", identity.natural_name) or "tool"
        key = f"{identity.kind}\0{identity.namespace or ''}\0{identity.name}"
        attempt = 0
        while True:
            seed = key if attempt == 0 else f"{key}\0{attempt}"
            digest = hashlib.sha256(seed.encode()).hexdigest()[:_DIGEST]
            name = f"{base[: MAX_NAME_LENGTH - _DIGEST - 1]}_{digest}"
            if name not in self._by_name:
                return self._claim(identity, name)
            attempt += 1


def loaded_identities(tools: Any) -> list[ToolIdentity]:
    """The callable identities in a Responses tool list (functions, custom tools, namespaces).

    Tolerant: entries of other types or shapes are skipped (the tool reader reports them).
    """
    out: list[ToolIdentity] = []
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, Mapping):
            continue
        kind = tool.get("type")
        if kind == "namespace":
            namespace = tool.get("name")
            if isinstance(namespace, str):
                out += [
                    ToolIdentity(inner["type"], inner["name"], namespace)
                    for inner in tool.get("tools") or ()
                    if isinstance(inner, Mapping)
                    and inner.get("type") in ("function", "custom")
                    and isinstance(inner.get("name"), str)
                ]
        elif kind in ("function", "custom") and isinstance(tool.get("name"), str):
            out.append(ToolIdentity(kind, tool["name"]))
        elif kind == "tool_search" and tool.get("execution") == "client":
            out.append(ToolIdentity("tool_search"))
    return out
