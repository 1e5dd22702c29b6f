"""The gateway as an ASGI application: one request runs one way.

``Gateway.__call__`` opens the request's log record and its :class:`ClientWriter`, checks the inbound key
and finds the request's owner (except on public routes; :mod:`translator.gateway.owners`), finds the
endpoint in the route table (:mod:`translator.gateway.routes`), and runs it; the endpoint
(:mod:`translator.gateway.endpoints`) asks the Responses state to prepare the request, opens a translated or
relayed exchange, and hands its frames (or its JSON body) to the writer, which alone writes to the client
and records the outcome. The log line is written when the request ends.

The request's :class:`Exchange` is observed by the metrics (:mod:`translator.gateway.metrics`) and runs in
a tracing span (:mod:`translator.gateway.tracing`).  A WebSocket upgrade on a route that serves one
(``/v1/responses``), with a valid key, is accepted and run by a
:class:`~translator.gateway.socket_session.SocketSession` (one log line, metrics and span per response);
any other is refused with a 4xx (never a 500), and logged.
"""

from __future__ import annotations

import logging

from .asgi import Receive, Scope, Send
from .client_writer import ClientWriter, refuse_websocket
from .config import GatewayConfig
from .endpoints import Endpoint, Endpoints, Request
from .errors import GatewayError
from .metrics import Metrics
from .owners import Owners
from .request_log import Exchange
from .responses_state import ResponsesState
from .routes import ENDPOINTS, access, match, match_websocket, name_of
from .socket_session import SocketSession
from .store import Quotas, StoreError, open_store
from .tracing import request_span
from .upstream_client import Upstream

__all__ = ["Gateway"]


class Gateway:
    """``Gateway(config)`` is an ASGI app; serve it with uvicorn (``translator serve`` does)."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.upstreams = {name: Upstream(upstream) for name, upstream in config.upstreams.items()}
        store = open_store(
            config.store,
            ttl=config.store_ttl_seconds,
            max_bytes=config.store_max_bytes,
            quotas=Quotas(config.store_quota_per_owner, config.store_quota_total),
        )
        self.state = ResponsesState(
            store,
            max_bytes=config.store_max_bytes,
            secret=config.owner_secret,
            max_conversation_items=config.max_conversation_items,
            max_conversation_bytes=config.max_conversation_bytes,
            max_background_per_owner=config.max_background_per_owner,
            background_lease=config.background_lease_seconds,
        )
        self.owners = Owners(single_user=config.single_user, secret=config.owner_secret)
        self.metrics = Metrics(config) if config.metrics else None
        self.endpoints = Endpoints(config, self.upstreams, self.state, self.owners, self.metrics)
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
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = Exchange(scope["method"], scope["path"], observer=self.metrics)
        exchange.routed(*name_of(exchange.method, exchange.path))
        with request_span(exchange):
            writer = ClientWriter(send, receive, exchange, client_timeout=self.config.client_timeout)
            try:
                await writer.run(self._dispatch(scope, receive, exchange, writer))
            finally:
                exchange.finish()

    async def _dispatch(
        self, scope: Scope, receive: Receive, exchange: Exchange, writer: ClientWriter
    ) -> None:
        method, path = scope["method"], scope["path"]
        kind = access(path)
        owner = ""
        if kind == "key":
            owner = self.endpoints.authorize(scope)
        elif kind == "operations" and not self.config.metrics_public:
            self.endpoints.authorize(scope, basic=True)
        routed = match(method, path)
        request = Request(scope, receive, routed.params, exchange, owner)
        await self._by_name[routed.endpoint](request, writer)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        try:
            route = match_websocket(path)
            owner = "" if route.public else self.endpoints.authorize(scope)
        except GatewayError as exc:
            exchange = Exchange("GET", path, transport="websocket", observer=self.metrics)
            try:
                await refuse_websocket(scope, receive, send, exc, exchange)
            finally:
                exchange.finish()
            return
        if (await receive())["type"] != "websocket.connect":
            return
        await SocketSession(self.endpoints, scope, receive, send, owner).run()

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
