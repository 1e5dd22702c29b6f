"""The tool calls of a Chat stream: which call a tool-call delta continues, and its arguments so far.

A Chat tool call arrives as deltas that carry an ``index``, an ``id``, a name and argument fragments,
in any combination.  :class:`CallTable` decides which call each delta continues (or that it starts a
new one) and gives every call a ``call_id`` unique within the response; :class:`ChatCall` collects a
call's arguments and answers whether they are complete JSON yet (the translator holds other output
back while the open call's arguments are incomplete).
"""

from __future__ import annotations

from typing import Any

import orjson

from ..engine.json_stream import JsonCompleteness
from ..errors import InvalidChunkError
from ..ids import IdSource
from .provider_quirks import arguments_text, deduplicated_call_id, starts_another_call

__all__ = ["CallTable", "ChatCall", "read_call_entry"]


def read_call_entry(raw: Any, index: int, field: str) -> tuple[Any, str | None, str | None, str | None]:
    """One ``delta.tool_calls`` entry (or a legacy ``function_call``, flat, with ``index``
    ``"function_call"``) as ``(index, id, name, arguments)``; a malformed one is an
    :class:`InvalidChunkError` naming the chunk and field."""
    if not isinstance(raw, dict):
        raise InvalidChunkError("tool call delta must be an object", index=index, field=field)
    function = raw.get("function") if "function" in raw else raw  # legacy function_call is flat
    if function is None:
        function = {}
    if not isinstance(function, dict):
        raise InvalidChunkError("function must be an object", index=index, field=f"{field}.function")
    key = raw.get("index")
    if key is not None and key.__class__ is not int and key != "function_call":
        raise InvalidChunkError(
            f"must be an integer, got {type(key).__name__}", index=index, field=f"{field}.index"
        )
    given = raw.get("id")
    name = function.get("name")
    return (
        key,
        str(given) if given else None,
        str(name) if name else None,
        arguments_text(function.get("arguments")),
    )


class ChatCall:
    """A Chat tool call on its way to becoming an output item.

    ``given_id`` is the provider's id, ``call_id`` the unique one the item carries (set when it opens).
    """

    __slots__ = (
        "arguments",
        "call_id",
        "closed",
        "given_id",
        "index",
        "json",
        "name",
        "opened",
        "parsed_at",
        "pending",
    )

    def __init__(self, index: object, given_id: str | None) -> None:
        self.index = index
        self.given_id = given_id
        self.call_id: str | None = None
        self.name: str | None = None
        self.arguments: list[str] = []
        self.pending: list[str] = []  # fragments received before the item could open
        self.json: JsonCompleteness | None = None  # made when completeness is asked a second time
        self.parsed_at = -1  # the arguments parsed as complete JSON when they had this many fragments
        self.opened = False
        self.closed = False

    def complete(self) -> bool:
        """Whether the arguments so far are one complete JSON value (linear over the whole call).

        The first answer comes from one parse of the text (what a call followed by the next one needs,
        at C speed); asked again after more fragments, an incremental scanner takes over.
        """
        scan = self.json
        if scan is not None:
            return scan.complete
        if self.parsed_at != len(self.arguments):
            if self.parsed_at < 0:
                try:
                    orjson.loads("".join(self.arguments))
                    self.parsed_at = len(self.arguments)
                    return True
                except orjson.JSONDecodeError:
                    pass
            scan = self.json = JsonCompleteness()
            for fragment in self.arguments:
                scan.feed(fragment)
            return scan.complete
        return True

    def add(self, fragment: str) -> None:
        """One more fragment of the arguments (of the open item)."""
        self.arguments.append(fragment)
        if self.json is not None:
            self.json.feed(fragment)

    def finish(self) -> str:
        """The whole arguments, as the item closes (later fragments are an error)."""
        self.closed = True
        return "".join(self.arguments)


class CallTable:
    """Every call of the response, and the maps that tell which one a tool-call delta continues."""

    __slots__ = ("at", "by_id", "call_ids", "calls")

    def __init__(self) -> None:
        self.calls: list[ChatCall] = []  # every call, in the order they started
        self.at: dict[object, ChatCall] = {}  # delta index -> the latest call at that index
        self.by_id: dict[str, ChatCall] = {}  # provider id -> the latest call with that id
        self.call_ids: set[str] = set()  # call_ids given to items: unique within the response

    def which(self, key: object, given: str | None, name: Any, position: int) -> ChatCall:
        """The call a tool-call delta continues, or a new one.

        * with an ``index`` (``key``): the latest call at that index, unless the delta brings an id
          other than that call's (:func:`~.provider_quirks.starts_another_call`);
        * without one: the call with the same id; with no id either, the last call, unless the entry
          is not the first of its ``tool_calls`` list (``position``) or names a function while the
          last call's named arguments are already complete JSON (then each such entry is a call of
          its own).
        """
        call: ChatCall | None
        if key is not None:
            call = self.at.get(key)
            if call is not None and given is not None and starts_another_call(call.given_id, given):
                call = None
        elif given is not None:
            call = self.by_id.get(given)
        elif position > 0 or not self.calls:
            call = None
        else:
            call = self.calls[-1]
            if name and call.name is not None and call.arguments and call.complete():
                call = None
        if call is None:
            call = ChatCall(key, given)
            self.calls.append(call)
            if key is not None:
                self.at[key] = call
        if given is not None and call.given_id is None:
            call.given_id = given
        if call.given_id is not None:
            self.by_id[call.given_id] = call
        return call

    def first_unopened(self, call: ChatCall) -> ChatCall:
        """The first call, in the order the calls started, up to ``call`` itself, whose item has not
        opened yet and which has a name (a bare index says nothing): ``call``'s item may open only when
        that is ``call``, so the items keep the calls' order however their fragments interleave."""
        for other in self.calls:
            if other is call or (not other.opened and not other.closed and other.name is not None):
                return other
        return call

    def unique_call_id(self, given: str | None, ids: IdSource) -> str:
        """The provider's id (made unique, :func:`~.provider_quirks.deduplicated_call_id`), or a new one."""
        if given:
            call_id = deduplicated_call_id(given, self.call_ids)
        else:
            call_id = ids("call")
            while call_id in self.call_ids:
                call_id = ids("call")
        self.call_ids.add(call_id)
        return call_id
