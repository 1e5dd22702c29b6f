"""The gateway as an ASGI application: routing, inbound keys, request checks, one log line per request.

=======  ===================================  ==============================================================
method   path (``/v1`` prefix optional)       answer
=======  ===================================  ==============================================================
GET      ``/health``                          200 ``{"status": "ok"}`` once the upstream clients are ready
GET      ``/metrics``                         Prometheus metrics (:mod:`.metrics`), unless ``metrics = false``
GET      ``/status``, ``/status/feed``        the live status page and the JSON it polls (:mod:`.status_page`)
GET      ``/v1/models``                       the routed models (without routes: the default upstream's list)
POST     ``/v1/responses``                    Responses, over a chat upstream (translated) or relayed
POST     ``/v1/chat/completions``             Chat Completions, over a responses upstream or relayed
=======  ===================================  ==============================================================
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from ..errors import ConversionError
from .asgi import (
    ClientGone,
    Message,
    Receive,
    Scope,
    Send,
    header,
    json_bytes,
    read_body,
    send_answer,
    send_error,
    send_json,
)
from .bridge import OpenBridge, ResponseHooks, open_bridge, run_bridge
from .config import GatewayConfig
from .errors import GatewayError
from .metrics import Metrics, metrics_answer
from .relay import run_relay
from .request_log import Exchange, logger
from .responses_state import ResponsesState
from .status_page import feed_answer, page_answer
from .store import StoreError, open_store
from .tracing import request_span
from .upstream_client import Destination, Upstream

__all__ = ["Gateway"]

_ENDPOINTS = {"/responses": "responses", "/chat/completions": "chat"}
#: What a browser is asked for on /metrics and /status without a key: the key as a Basic password.
_BASIC_CHALLENGE = ((b"www-authenticate", b'Basic realm="translator gateway", charset="UTF-8"'),)
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class Gateway:
    """``Gateway(config)`` is an ASGI app; serve it with uvicorn (``translator serve`` does)."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.upstreams = {name: Upstream(upstream) for name, upstream in config.upstreams.items()}
        self._keys = tuple(key.encode() for key in config.api_keys)
        store = open_store(config.store, ttl=config.store_ttl_seconds, max_bytes=config.store_max_bytes)
        self.state = ResponsesState(store, max_bytes=config.store_max_bytes)
        self.metrics = Metrics(config) if config.metrics else None
        self._operations: dict[str, Callable[[], Answer]] = {}
        if self.metrics is not None:
            metrics = self.metrics
            self._operations = {
                "/metrics": lambda: metrics_answer(metrics),
                "/status": page_answer,
                "/status/feed": lambda: feed_answer(metrics),
            }

    async def start(self) -> None:
        """Check the response store (a Redis that cannot be reached fails the start)."""
        await self.state.start()

    async def aclose(self) -> None:
        await self.state.close()
        for upstream in self.upstreams.values():
            await upstream.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        exchange = Exchange(scope["method"], scope["path"], observer=self.metrics)
        with request_span(exchange):
            await self._exchange(scope, receive, send, exchange)

    async def _exchange(self, scope: Scope, receive: Receive, send: Send, exchange: Exchange) -> None:
        """One HTTP request: routed, its failures answered in the client's shape, then logged."""
        tag = [(b"x-request-id", exchange.request_id.encode())]
        started = False
        loop = asyncio.get_running_loop()
        request_task = asyncio.current_task()
        stalled = False

        def stall() -> None:
            nonlocal stalled
            stalled = True
            if request_task is not None:
                request_task.cancel()

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                exchange.status = message["status"]
                message["headers"] = [*message.get("headers", ()), *tag]
            # uvicorn's send() waits while the client's socket is full (backpressure); a client that
            # does not take one write within client_timeout has stopped reading: the exchange is
            # cancelled as if it had disconnected, and its upstream request closed.
            timer = loop.call_later(self.config.client_timeout, stall)
            try:
                await send(message)
            finally:
                timer.cancel()

        async def fail(error: GatewayError) -> None:
            _record_failure(exchange, error, started=started)
            with contextlib.suppress(Exception):
                if started:  # end the broken answer rather than leave the client waiting
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                else:
                    await send_error(tracked, error)
                    exchange.sent_first_byte()

        try:
            await self._route(scope, receive, tracked, exchange)
        except asyncio.CancelledError:
            if not stalled:
                raise
            if request_task is not None and hasattr(request_task, "uncancel"):
                request_task.uncancel()
            exchange.disconnected = True
            exchange.error = "client_stalled"
        except GatewayError as exc:
            await fail(exc)
        except ClientGone:
            exchange.disconnected = True
        except StoreError as exc:  # the response store failed (unreachable Redis, full disk)
            exchange.store_failed = True
            await fail(
                GatewayError(503, f"response store: {exc}", type="server_error", code="store_unavailable")
            )
        except Exception as exc:  # a bug: answer 500 in the client's shape and log it
            logger.exception("unexpected error serving %s %s", scope["method"], scope["path"])
            await fail(
                GatewayError(500, f"internal gateway error ({type(exc).__name__})", type="server_error")
            )
            exchange.error = "internal_error"
        finally:
            exchange.finish()

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

    async def _route(self, scope: Scope, receive: Receive, send: Send, exchange: Exchange) -> None:
        method = scope["method"]
        path = scope["path"]
        if path == "/health":
            await send_json(send, 200, b'{"status":"ok"}')
            exchange.sent_first_byte()
            return
        operation = self._operations.get(path)
        if operation is not None:
            if method != "GET":
                raise GatewayError(
                    405, f"{method} is not allowed on {path}; use GET", type="invalid_request_error"
                )
            if not self.config.metrics_public:
                self._authorize(scope, basic=True)
            await send_answer(send, operation())
            exchange.sent_first_byte()
            return
        if path.startswith("/v1/"):
            path = path[3:]
        self._authorize(scope)
        endpoint = _ENDPOINTS.get(path)
        if endpoint is not None:
            if method != "POST":
                raise GatewayError(
                    405, f"{method} is not allowed on {scope['path']}; use POST", type="invalid_request_error"
                )
            await self._create(endpoint, scope, receive, send, exchange)
            return
        if path.startswith("/responses/"):
            await self._stored(scope, path, send, exchange)
            return
        if path == "/models":
            if method != "GET":
                raise GatewayError(
                    405, f"{method} is not allowed on {scope['path']}; use GET", type="invalid_request_error"
                )
            await self._models(scope, send, exchange)
            return
        raise GatewayError.not_found(f"no such endpoint: {method} {scope['path']}", code="not_found")

    def _authorize(self, scope: Scope, *, basic: bool = False) -> None:
        """The inbound key, as ``Authorization: Bearer <key>``; with ``basic`` also as the password of
        HTTP Basic (a browser opening /status asks for it), and a 401 that asks for it."""
        if not self._keys:
            return
        challenge = _BASIC_CHALLENGE if basic else ()
        given = header(scope, b"authorization")
        if given is None:
            raise GatewayError.unauthorized("missing API key: send Authorization: Bearer <key>", challenge)
        scheme, _, token = given.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            candidate = token.strip().encode("latin-1")
        elif scheme == "basic" and basic:
            candidate = _basic_password(token.strip())
        else:
            candidate = b""
        if not any(hmac.compare_digest(candidate, key) for key in self._keys):
            raise GatewayError.unauthorized("invalid API key", challenge)

    def _client_authorization(self, scope: Scope) -> str | None:
        """The client's Authorization header, passed upstream only when the gateway has no keys of its own."""
        return None if self._keys else header(scope, b"authorization")

    async def _create(
        self, endpoint: str, scope: Scope, receive: Receive, send: Send, exchange: Exchange
    ) -> None:
        exchange.client_protocol = endpoint
        config = self.config
        body = _parse_request(await read_body(scope, receive, config.max_body_bytes, config.client_timeout))
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise GatewayError.bad_request(
                "'model' is required and must be a non-empty string", param="model"
            )
        stream = body.get("stream")
        if stream is not None and not isinstance(stream, bool):
            raise GatewayError.bad_request(
                f"'stream' must be a boolean, got {type(stream).__name__}", param="stream"
            )
        exchange.model = model
        exchange.stream = stream is True
        resolved = self.config.resolve(model)
        if resolved is None:
            raise GatewayError.model_not_found(model)
        upstream_config, upstream_model = resolved
        to = Destination(
            self.upstreams[upstream_config.name], upstream_model, self._client_authorization(scope)
        )
        exchange.upstream = upstream_config.name
        exchange.upstream_model = upstream_model
        try:
            if upstream_config.protocol == endpoint:
                await run_relay(endpoint, body, to, exchange, receive, send)
            elif endpoint == "chat":
                await run_bridge(endpoint, body, to, exchange, receive, send)
            else:
                await self._create_response(body, to, exchange, receive, send)
        except ConversionError as exc:
            param = exc.path.removeprefix("request.") if exc.path else None
            raise GatewayError.bad_request(f"invalid request: {exc}", param=param) from None

    async def _create_response(
        self, body: dict[str, Any], to: Destination, exchange: Exchange, receive: Receive, send: Send
    ) -> None:
        """``POST /v1/responses`` over a chat upstream, with the gateway's Responses state."""
        request, own = await self.state.prepare(body)
        if body.get("background") is True:
            background_exchange = Exchange(exchange.method, exchange.path, request_id=exchange.request_id)

            def start(hooks: ResponseHooks) -> Awaitable[OpenBridge]:
                return open_bridge("responses", request, to, background_exchange, hooks)

            queued = await self.state.start_background(body, own, exchange, start)
            exchange.status = 200
            await send_json(send, 200, json_bytes(queued))
            return
        hooks = self.state.hooks(body, own, exchange)
        await run_bridge("responses", request, to, exchange, receive, send, hooks)

    async def _stored(self, scope: Scope, path: str, send: Send, exchange: Exchange) -> None:
        """``/v1/responses/{id}[/input_items|/cancel]``: the gateway's own store first; a response it
        does not hold is asked of the default upstream when that one speaks Responses (it keeps the
        state of the requests relayed to it)."""
        method = scope["method"]
        response_id, _, action = path[len("/responses/") :].partition("/")
        query: bytes = scope.get("query_string", b"")
        exchange.client_protocol = "responses"
        try:
            exchange.status = await self.state.serve(method, response_id, action, query, send)
            return
        except GatewayError as exc:
            default = self.config.default_upstream
            if exc.status != 404 or default is None or self.config.upstreams[default].protocol != "responses":
                raise
        upstream = self.upstreams[default]
        exchange.upstream = upstream.name
        response = await upstream.forward(
            method, path, query.decode("latin-1"), authorization=self._client_authorization(scope)
        )
        try:
            body = json_bytes(await response.json())
        finally:
            await response.aclose()
        exchange.status = 200
        await send_json(send, 200, body)

    async def _models(self, scope: Scope, send: Send, exchange: Exchange) -> None:
        config = self.config
        if config.routes:
            data = [
                {"id": name, "object": "model", "created": 0, "owned_by": route.upstream}
                for name, route in config.routes.items()
            ]
            body = json_bytes({"object": "list", "data": data})
        elif config.default_upstream is not None:
            upstream = self.upstreams[config.default_upstream]
            exchange.upstream = upstream.name
            response = await upstream.get("/models", authorization=self._client_authorization(scope))
            try:
                body = json_bytes(await response.json())
            finally:
                await response.aclose()
        else:
            body = json_bytes({"object": "list", "data": []})
        exchange.status = 200
        await send_json(send, 200, body)


def _record_failure(exchange: Exchange, error: GatewayError, *, started: bool) -> None:
    if not started:  # (once the answer started, its status is the one sent)
        exchange.status = error.status
    exchange.error = error.code
    if error.upstream is not None:
        exchange.upstream_failed(error.code or f"http_{error.status}")


def _basic_password(token: str) -> bytes:
    """The password of an HTTP Basic ``user:password`` (any user); empty when malformed."""
    try:
        return base64.b64decode(token, validate=True).partition(b":")[2]
    except (binascii.Error, ValueError):
        return b""


def _parse_request(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise GatewayError.bad_request(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise GatewayError.bad_request(f"request body must be a JSON object, got {type(body).__name__}")
    return body


logging.getLogger("translator.gateway").addHandler(logging.NullHandler())
