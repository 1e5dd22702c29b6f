"""The Conversations API over the gateway's store: every method of the SDK's ``client.conversations``.

``POST /v1/conversations`` (``items``, ``metadata``), ``GET``/``POST``/``DELETE
/v1/conversations/{id}`` (retrieve, update the metadata, delete), ``POST``/``GET
/v1/conversations/{id}/items`` (add, list with ``after``, ``limit``, ``order``, ``include``),
``GET``/``DELETE /v1/conversations/{id}/items/{item_id}``.  Items are kept in the stored shape of
:func:`~.store.stored_input_items` (every item with an id; ``item_reference`` items resolved first);
another owner's conversation is answered as absent (404).

How a conversation takes part in ``POST /v1/responses`` (its items first, the response's input and
output appended when it finishes) is :mod:`translator.gateway.responses_state`'s.

This module checks requests and shapes answers; it never writes to the client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import ConversionError
from .asgi import list_options
from .errors import GatewayError
from .store import InvalidListParameterError, StoreError, stored_input_items
from .store.conversations import ConversationStore
from .store.listing import list_page

__all__ = ["MAX_ITEMS_PER_REQUEST", "ConversationsState", "conversation_id_of"]

#: Items one create or add request may carry (as in the API).
MAX_ITEMS_PER_REQUEST = 20
#: Metadata: at most 16 pairs, keys up to 64 characters, values up to 512 (as in the API).
MAX_METADATA, MAX_KEY, MAX_VALUE = 16, 64, 512

Resolver = Callable[[list[dict[str, Any]], str], Awaitable[list[dict[str, Any]]]]


def not_found(conversation_id: str) -> GatewayError:
    return GatewayError.not_found(f"Conversation with id '{conversation_id}' not found.", code="not_found")


def conversation_id_of(value: Any) -> str:
    """The id a request's ``conversation`` names (a string or ``{"id": ...}``); 400 otherwise."""
    found = value.get("id") if isinstance(value, dict) else value
    if not isinstance(found, str) or not found:
        raise GatewayError.bad_request(
            "'conversation' must be a conversation id or an object with its 'id'", param="conversation"
        )
    return found


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_METADATA:
        raise GatewayError.bad_request(
            f"'metadata' must be an object of at most {MAX_METADATA} string pairs", param="metadata"
        )
    for key, item in value.items():
        if len(key) > MAX_KEY or not isinstance(item, str) or len(item) > MAX_VALUE:
            raise GatewayError.bad_request(
                f"metadata {key!r}: keys are strings of at most {MAX_KEY} characters, values of at most"
                f" {MAX_VALUE}",
                param="metadata",
            )
    return dict(value)


class ConversationsState:
    """Conversations of one store; ``resolve`` replaces ``item_reference`` items (the responses state's)."""

    def __init__(self, store: ConversationStore, resolve: Resolver) -> None:
        self.store = store
        self._resolve = resolve

    async def _items(self, value: Any, owner: str, *, required: bool) -> list[dict[str, Any]]:
        if value is None and not required:
            return []
        if not isinstance(value, list) or (required and not value):
            raise GatewayError.bad_request("'items' must be a non-empty list of items", param="items")
        if len(value) > MAX_ITEMS_PER_REQUEST:
            raise GatewayError.bad_request(
                f"'items' holds {len(value)} items; at most {MAX_ITEMS_PER_REQUEST} per request",
                param="items",
            )
        try:
            items = stored_input_items(value)
        except (ConversionError, StoreError) as exc:
            raise GatewayError.bad_request(f"invalid items: {exc}", param="items") from None
        return await self._resolve(items, owner)

    # -- the conversation ------------------------------------------------------------------------------

    async def create(self, body: dict[str, Any], owner: str) -> dict[str, Any]:
        metadata = _metadata(body.get("metadata"))
        items = await self._items(body.get("items"), owner, required=False)
        return await self.store.create(owner, metadata, items)

    async def get(self, conversation_id: str, owner: str) -> dict[str, Any]:
        found = await self.store.get(owner, conversation_id)
        if found is None:
            raise not_found(conversation_id)
        return found

    async def update(self, conversation_id: str, body: dict[str, Any], owner: str) -> dict[str, Any]:
        if "metadata" not in body:
            raise GatewayError.bad_request("'metadata' is required", param="metadata")
        updated = await self.store.update(owner, conversation_id, _metadata(body["metadata"]))
        if updated is None:
            raise not_found(conversation_id)
        return updated

    async def delete(self, conversation_id: str, owner: str) -> dict[str, Any]:
        if not await self.store.delete(owner, conversation_id):
            raise not_found(conversation_id)
        return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}

    # -- its items -------------------------------------------------------------------------------------

    async def add_items(self, conversation_id: str, body: dict[str, Any], owner: str) -> dict[str, Any]:
        items = await self._items(body.get("items"), owner, required=True)
        added = await self.store.add_items(owner, conversation_id, items)
        if added is None:
            raise not_found(conversation_id)
        return list_page(added, has_more=False)

    async def list_items(self, conversation_id: str, query: bytes, owner: str) -> dict[str, Any]:
        options = list_options(query)
        try:  # ``include`` is accepted: every stored field is always listed
            page = await self.store.list_items(owner, conversation_id, **options)
        except InvalidListParameterError as exc:
            raise GatewayError.bad_request(str(exc), param=exc.param) from None
        if page is None:
            raise not_found(conversation_id)
        return page

    async def get_item(self, conversation_id: str, item_id: str, owner: str) -> dict[str, Any]:
        item = await self.store.get_item(owner, conversation_id, item_id)
        if item is None:
            await self.get(conversation_id, owner)  # 404 for the conversation first
            raise GatewayError.not_found(f"Item with id '{item_id}' not found.", code="not_found")
        return item

    async def delete_item(self, conversation_id: str, item_id: str, owner: str) -> dict[str, Any]:
        removed = await self.store.delete_item(owner, conversation_id, item_id)
        if removed is None:
            raise not_found(conversation_id)
        if not removed:
            raise GatewayError.not_found(f"Item with id '{item_id}' not found.", code="not_found")
        return await self.get(conversation_id, owner)
