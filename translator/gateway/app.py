"""The gateway as an ASGI application: one request runs one way.

``Gateway.__call__`` opens the request's log record and its :class:`ClientWriter`, checks the inbound key
and finds the request's owner (except on public routes; :mod:`translator.gateway.owners`), finds the
endpoint in the route table (:mod:`translator.gateway.routes`), and runs it; the endpoint
(:mod:`translator.gateway.endpoints`) asks the Responses state to prepare the request, opens a translated or
relayed exchange, and hands its frames (or its JSON body) to the writer, which alone writes to the client
and records the outcome. The log line is written when the request ends.

A WebSocket upgrade is refused with a 4xx (no path serves one yet).
"""

from __future__ import annotations

import logging

from .asgi import Receive, Scope, Send
from .client_writer import ClientWriter, refuse_websocket
from .config import GatewayConfig
from .endpoints import Endpoint, Endpoints, Request
from .owners import Owners
from .request_log import Exchange
from .responses_state import ResponsesState
from .routes import ENDPOINTS, is_public, match
from .store import StoreError, open_store
from .upstream_client import Upstream

__all__ = ["Gateway"]


class Gateway:
    """``Gateway(config)`` is an ASGI app; serve it with uvicorn (``translator serve`` does)."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.upstreams = {name: Upstream(upstream) for name, upstream in config.upstreams.items()}
        store = open_store(config.store, ttl=config.store_ttl_seconds, max_bytes=config.store_max_bytes)
        self.state = ResponsesState(store, max_bytes=config.store_max_bytes, secret=config.owner_secret)
        self.owners = Owners(single_user=config.single_user, secret=config.owner_secret)
        self.endpoints = Endpoints(config, self.upstreams, self.state, self.owners)
        self._by_name: dict[str, Endpoint] = self.endpoints.by_name()
        missing = ENDPOINTS - self._by_name.keys()
        if missing:  # a route naming an endpoint that does not exist is a bug, found at start
            raise RuntimeError(f"routes name endpoints that do not exist: {sorted(missing)}")

    async def start(self) -> None:
        """Check the response store (a Redis that cannot be reached fails the start), and take the owner
        secret from it unless the configuration gives one."""
        await self.state.start()
        if not self.owners.has_secret:
            self.owners.use_secret(await self.state.owner_secret())

    async def aclose(self) -> None:
        await self.state.close()
        for upstream in self.upstreams.values():
            await upstream.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await refuse_websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = Exchange(scope["method"], scope["path"])
        writer = ClientWriter(send, receive, exchange, client_timeout=self.config.client_timeout)
        try:
            await writer.run(self._dispatch(scope, receive, exchange, writer))
        finally:
            exchange.log()

    async def _dispatch(
        self, scope: Scope, receive: Receive, exchange: Exchange, writer: ClientWriter
    ) -> None:
        method, path = scope["method"], scope["path"]
        owner = "" if is_public(path) else self.endpoints.authorize(scope)
        routed = match(method, path)
        request = Request(scope, receive, routed.params, exchange, owner)
        await self._by_name[routed.endpoint](request, writer)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except StoreError as exc:
                    await send({"type": "lifespan.startup.failed", "message": f"response store: {exc}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


logging.getLogger("translator.gateway").addHandler(logging.NullHandler())
