"""The Conversations API's endpoints (routes in :mod:`translator.gateway.routes`).

Each answers through the request's :class:`~.client_writer.ClientWriter` with what
:class:`~.conversations_state.ConversationsState` returns.  When the default upstream speaks Responses,
conversations are its own: a create goes there, and a conversation the gateway does not hold is asked
of it (as the gateway does for stored responses).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol
from urllib.parse import quote

from .asgi import Receive, Scope, json_bytes, read_body
from .client_writer import ClientWriter
from .config import GatewayConfig
from .conversations_state import ConversationsState
from .errors import GatewayError
from .json_body import parse_object_off_loop
from .request_log import Exchange
from .upstream_client import Upstream

__all__ = ["ConversationEndpoints"]

#: What a conversation or item id forwarded to an upstream may be made of.
_ID_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


class Request(Protocol):
    """What these endpoints read of a routed request (``endpoints.Request``, which imports this module)."""

    @property
    def scope(self) -> Scope: ...
    @property
    def receive(self) -> Receive: ...
    @property
    def params(self) -> Mapping[str, str]: ...
    @property
    def exchange(self) -> Exchange: ...
    @property
    def query(self) -> bytes: ...
    @property
    def owner(self) -> str: ...


class ConversationEndpoints:
    """``/v1/conversations`` and below."""

    def __init__(
        self,
        config: GatewayConfig,
        upstreams: Mapping[str, Upstream],
        state: ConversationsState,
        authorization: Callable[[Scope], str | None],
    ) -> None:
        self.config = config
        self.upstreams = upstreams
        self.state = state
        self._authorization = authorization

    def by_name(self) -> dict[str, Callable[[Request, ClientWriter], Awaitable[None]]]:
        return {
            "create_conversation": self.create_conversation,
            "get_conversation": self.get_conversation,
            "update_conversation": self.update_conversation,
            "delete_conversation": self.delete_conversation,
            "add_conversation_items": self.add_conversation_items,
            "list_conversation_items": self.list_conversation_items,
            "get_conversation_item": self.get_conversation_item,
            "delete_conversation_item": self.delete_conversation_item,
        }

    # -- the endpoints ---------------------------------------------------------------------------------

    async def create_conversation(self, request: Request, writer: ClientWriter) -> None:
        body = await self._body(request)
        if self._upstream() is not None:
            await self._forward(request, writer, "POST", "", body)
            return
        await writer.json(200, json_bytes(await self.state.create(body, _owner(request))))

    async def get_conversation(self, request: Request, writer: ClientWriter) -> None:
        await self._answer(request, writer, "GET", lambda cid: self.state.get(cid, _owner(request)))

    async def update_conversation(self, request: Request, writer: ClientWriter) -> None:
        body = await self._body(request)
        await self._answer(
            request, writer, "POST", lambda cid: self.state.update(cid, body, _owner(request)), body=body
        )

    async def delete_conversation(self, request: Request, writer: ClientWriter) -> None:
        await self._answer(request, writer, "DELETE", lambda cid: self.state.delete(cid, _owner(request)))

    async def add_conversation_items(self, request: Request, writer: ClientWriter) -> None:
        body = await self._body(request)
        await self._answer(
            request,
            writer,
            "POST",
            lambda cid: self.state.add_items(cid, body, _owner(request)),
            "/items",
            body=body,
        )

    async def list_conversation_items(self, request: Request, writer: ClientWriter) -> None:
        await self._answer(
            request,
            writer,
            "GET",
            lambda cid: self.state.list_items(cid, request.query, _owner(request)),
            "/items",
        )

    async def get_conversation_item(self, request: Request, writer: ClientWriter) -> None:
        item_id = request.params["item_id"]
        await self._answer(
            request,
            writer,
            "GET",
            lambda cid: self.state.get_item(cid, item_id, _owner(request)),
            f"/items/{quote(item_id, safe='')}",
        )

    async def delete_conversation_item(self, request: Request, writer: ClientWriter) -> None:
        item_id = request.params["item_id"]
        await self._answer(
            request,
            writer,
            "DELETE",
            lambda cid: self.state.delete_item(cid, item_id, _owner(request)),
            f"/items/{quote(item_id, safe='')}",
        )

    # -- shared ----------------------------------------------------------------------------------------

    async def _body(self, request: Request) -> dict[str, Any]:
        config = self.config
        raw = await read_body(request.scope, request.receive, config.max_body_bytes, config.client_timeout)
        return await parse_object_off_loop(raw, empty=True, max_values=config.max_json_values)

    def _upstream(self) -> Upstream | None:
        """The default upstream when it speaks Responses (then conversations are its own)."""
        default = self.config.default_upstream
        if default is None or self.config.upstreams[default].protocol != "responses":
            return None
        return self.upstreams[default]

    async def _answer(
        self,
        request: Request,
        writer: ClientWriter,
        method: str,
        serve: Callable[[str], Awaitable[dict[str, Any]]],
        action: str = "",
        *,
        body: dict[str, Any] | None = None,
    ) -> None:
        """The gateway's own conversation first; one it does not hold is asked of a Responses upstream."""
        request.exchange.client_protocol = "responses"
        conversation_id = request.params["conversation_id"]
        try:
            await writer.json(200, json_bytes(await serve(conversation_id)))
            return
        except GatewayError as exc:
            if exc.status != 404 or self._upstream() is None or not set(conversation_id) <= _ID_CHARACTERS:
                raise
        await self._forward(request, writer, method, f"/{quote(conversation_id, safe='')}{action}", body)

    async def _forward(
        self, request: Request, writer: ClientWriter, method: str, path: str, body: dict[str, Any] | None
    ) -> None:
        upstream = self._upstream()
        assert upstream is not None
        request.exchange.upstream = upstream.name
        authorization = self._authorization(request.scope)
        if method == "POST":
            response = await upstream.post(
                f"/conversations{path}", body or {}, authorization=authorization, stream=False
            )
        else:
            query = request.query.decode("latin-1")
            response = await upstream.forward(
                method, f"/conversations{path}", query, authorization=authorization
            )
        try:
            answer = json_bytes(await response.json())
        finally:
            await response.aclose()
        await writer.json(200, answer)


def _owner(request: Request) -> str:
    """The caller's owner (:mod:`translator.gateway.owners`)."""
    return request.owner
