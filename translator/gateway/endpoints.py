"""The gateway's endpoints: what each route of :mod:`translator.gateway.routes` does.

Every endpoint takes the routed :class:`Request` and the request's :class:`ClientWriter`, and answers
through the writer alone; what it raises, the writer turns into the client's error answer.  Creating a
response or a chat completion picks the exchange by the routed upstream's protocol: relayed to an
upstream of the client's protocol (:mod:`translator.gateway.relay`), translated to one of the other
(:mod:`translator.gateway.bridge`), with the gateway's Responses state around a Responses client over a
chat upstream (:mod:`translator.gateway.responses_state`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

from ..convert.requests import convert_responses_request
from ..errors import ConversionError
from ..wire.responses_sse import event_frames
from .asgi import Receive, Scope, header, json_bytes, read_body
from .attempts import Targets
from .bridge import open_bridge
from .client_writer import ClientWriter
from .config import GatewayConfig, UpstreamConfig
from .conversation_endpoints import ConversationEndpoints
from .errors import GatewayError
from .json_body import parse_object_off_loop
from .metrics import TEXT_FORMAT, Metrics
from .owners import SINGLE_USER, Owners
from .relay import open_relay
from .request_log import Exchange
from .response_hooks import NO_HOOKS, ResponseHooks
from .responses_state import ResponsesState, Run
from .status_page import FEED_HEADERS, PAGE, PAGE_HEADERS, feed_body
from .token_count import count_tokens
from .upstream_client import Destination, Upstream

__all__ = ["Endpoint", "Endpoints", "Request", "conversion_errors"]

_HEALTHY = b'{"status":"ok"}'
#: What a browser is asked for on the operations routes without a key: the key as a Basic password.
_BASIC_CHALLENGE = ((b"www-authenticate", b'Basic realm="translator gateway", charset="UTF-8"'),)
#: The id characters a response id forwarded to an upstream may have (anything else: 404, never forwarded).
_ID_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


@dataclass(frozen=True, slots=True)
class Request:
    """One routed HTTP request: its ASGI scope and receive channel, the path's parameters, its log record,
    and its owner (:meth:`Endpoints.authorize`; ``""`` on public routes, which touch no stored state)."""

    scope: Scope
    receive: Receive
    params: Mapping[str, str]
    exchange: Exchange
    owner: str = ""

    @property
    def query(self) -> bytes:
        query: bytes = self.scope.get("query_string", b"")
        return query


Endpoint = Callable[[Request, ClientWriter], Awaitable[None]]


class Endpoints:
    """The endpoints, with what they share: the configuration, the upstream clients, the state, the keys."""

    def __init__(
        self,
        config: GatewayConfig,
        upstreams: Mapping[str, Upstream],
        state: ResponsesState,
        owners: Owners,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.upstreams = upstreams
        self.state = state
        self.owners = owners
        self.metrics = metrics
        self._keys = tuple(key.encode() for key in config.api_keys)
        self.conversations = ConversationEndpoints(
            config, upstreams, state.conversations, self._client_authorization
        )

    def by_name(self) -> dict[str, Endpoint]:
        """The endpoints by the names the route table uses."""
        return {
            "health": self.health,
            "models": self.models,
            "create_response": self.create_response,
            "create_chat_completion": self.create_chat_completion,
            "get_response": self.get_response,
            "delete_response": self.delete_response,
            "list_input_items": self.list_input_items,
            "cancel_response": self.cancel_response,
            "count_input_tokens": self.count_input_tokens,
            "compact_response": self.compact_response,
            **self.conversations.by_name(),
            "metrics": self.metrics_text,
            "status_page": self.status_page,
            "status_feed": self.status_feed,
        }

    # -- keys -----------------------------------------------------------------------------------------

    def authorize(self, scope: Scope, *, basic: bool = False) -> str:
        """The request's owner (:mod:`translator.gateway.owners`): the keyed hash of the inbound key it
        carries, or without inbound keys of its own ``Authorization``.  401 for a missing or wrong key,
        and without inbound keys for a missing ``Authorization`` (unless ``single_user``).  With
        ``basic`` (the operations routes, which touch no stored state) the key is also accepted as the
        password of HTTP Basic, which a browser opening ``/status`` asks for after the 401."""
        challenge = _BASIC_CHALLENGE if basic else ()
        if basic and not self._keys:
            return ""
        given = header(scope, b"authorization")
        if not self._keys:
            if given is None or not given.strip().partition(" ")[2].strip():  # no credential after a scheme
                if self.owners.single_user:
                    return SINGLE_USER
                raise GatewayError.unauthorized(
                    "missing API key: send Authorization: Bearer <key> (this gateway passes each"
                    " client's own key upstream and keeps each client's responses apart by it)"
                )
            return self.owners.of(b"authorization", given.strip().encode("latin-1"))
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
        matched = [key for key in self._keys if hmac.compare_digest(candidate, key)]
        if not matched:
            raise GatewayError.unauthorized("invalid API key", challenge)
        return self.owners.of(b"key", matched[0])

    def _client_authorization(self, scope: Scope) -> str | None:
        """The client's Authorization header, passed upstream only when the gateway has no keys of its own."""
        return None if self._keys else header(scope, b"authorization")

    def _forwardable(self, name: str) -> bool:
        """Whether a stored-response request the gateway cannot answer may go to upstream ``name``: it
        speaks Responses, and it scopes responses by the client's own key (pass-through), or every client
        shares one scope anyway (``single_user``).  With the gateway's own upstream key every client would
        share the upstream's scope, so another client's response is never asked for there."""
        upstream = self.config.upstreams[name]
        if upstream.protocol != "responses":
            return False
        return self.config.single_user or (not self._keys and upstream.api_key() is None)

    # -- health and models ----------------------------------------------------------------------------

    async def health(self, request: Request, writer: ClientWriter) -> None:
        await writer.json(200, _HEALTHY)

    async def models(self, request: Request, writer: ClientWriter) -> None:
        config = self.config
        if config.routes:
            data = [
                {"id": name, "object": "model", "created": 0, "owned_by": route.upstream}
                for name, route in config.routes.items()
            ]
            body = json_bytes({"object": "list", "data": data})
        elif config.default_upstream is not None:
            upstream = self.upstreams[config.default_upstream]
            request.exchange.upstream = upstream.name
            response = await upstream.get("/models", authorization=self._client_authorization(request.scope))
            try:
                body = json_bytes(await response.json())
            finally:
                await response.aclose()
        else:
            body = json_bytes({"object": "list", "data": []})
        await writer.json(200, body)

    # -- operations: /metrics, /status ----------------------------------------------------------------

    def _metrics(self, request: Request) -> Metrics:
        if self.metrics is None:
            message = f"{request.exchange.path} is turned off here ([server] metrics = false)"
            raise GatewayError.not_found(message, code="not_found")
        return self.metrics

    async def metrics_text(self, request: Request, writer: ClientWriter) -> None:
        await writer.body(200, self._metrics(request).exposition(), TEXT_FORMAT)

    async def status_page(self, request: Request, writer: ClientWriter) -> None:
        self._metrics(request)
        await writer.body(200, PAGE, PAGE_HEADERS)

    async def status_feed(self, request: Request, writer: ClientWriter) -> None:
        await writer.body(200, feed_body(self._metrics(request)), FEED_HEADERS)

    # -- creating -------------------------------------------------------------------------------------

    async def create_response(self, request: Request, writer: ClientWriter) -> None:
        await self._create("responses", request, writer)

    async def create_chat_completion(self, request: Request, writer: ClientWriter) -> None:
        await self._create("chat", request, writer)

    async def _body(self, request: Request) -> dict[str, Any]:
        """The request's JSON object (of at most ``max_json_values`` values, parsed off the loop when
        large), its item list within ``max_input_items`` (413 before any work on the items)."""
        config = self.config
        raw = await read_body(request.scope, request.receive, config.max_body_bytes, config.client_timeout)
        body = await parse_object_off_loop(raw, max_values=config.max_json_values)
        for field in ("input", "messages"):
            items = body.get(field)
            if isinstance(items, list) and len(items) > config.max_input_items:
                raise GatewayError(
                    413,
                    f"'{field}' has {len(items):,} items, over the gateway's cap of"
                    f" {config.max_input_items:,} per request (max_input_items)",
                    type="invalid_request_error",
                    code="request_too_large",
                    param=field,
                )
        return body

    def _destination(self, request: Request, model: str) -> tuple[UpstreamConfig, Destination]:
        """Where ``model`` goes (404 ``model_not_found`` when nowhere), noted in the log record."""
        resolved = self.config.resolve(model)
        if resolved is None:
            raise GatewayError.model_not_found(model)
        upstream_config, upstream_model = resolved
        to = Destination(
            self.upstreams[upstream_config.name], upstream_model, self._client_authorization(request.scope)
        )
        request.exchange.upstream = upstream_config.name
        request.exchange.upstream_model = upstream_model
        return upstream_config, to

    def _targets(self, request: Request, model: str) -> Targets:
        """Where ``model`` may go, in order (404 ``model_not_found`` when nowhere): see :mod:`.attempts`."""
        targets = self.config.targets(model)
        if targets is None:
            raise GatewayError.model_not_found(model)
        found = tuple((config, self.upstreams[config.name], name) for config, name in targets)
        request.exchange.upstream, request.exchange.upstream_model = found[0][0].name, found[0][2]
        return Targets(found, self._client_authorization(request.scope))

    async def _create(self, endpoint: str, request: Request, writer: ClientWriter) -> None:
        exchange = request.exchange
        exchange.client_protocol = endpoint
        body = await self._body(request)
        targets = self.targets(request, body)
        with conversion_errors():
            if targets.protocol == endpoint:
                await self._relay(endpoint, body, targets, exchange, writer)
            elif endpoint == "chat":
                await self._translate("chat", body, targets, exchange, writer)
            else:
                await self._create_response(body, targets, request, writer)

    def targets(self, request: Request, body: dict[str, Any]) -> Targets:
        """Where a parsed create request may go (400 for a missing model, 404 ``model_not_found``), its
        model and ``stream`` noted in the log record: ``POST /v1/responses`` and ``/v1/chat/completions``,
        and a WebSocket's ``response.create``."""
        model = _model_of(body)
        request.exchange.model = model
        request.exchange.stream = body.get("stream") is True
        return self._targets(request, model)

    async def _relay(
        self, endpoint: str, body: dict[str, Any], to: Targets, exchange: Exchange, writer: ClientWriter
    ) -> None:
        async with await to.open(
            exchange, lambda there: open_relay(endpoint, body, there, exchange)
        ) as relayed:
            if body.get("stream") is True:
                await writer.stream(relayed.frames())
            else:
                await writer.json(200, await relayed.answer())

    async def _translate(
        self,
        endpoint: str,
        body: dict[str, Any],
        to: Targets,
        exchange: Exchange,
        writer: ClientWriter,
        hooks: ResponseHooks = NO_HOOKS,
    ) -> None:
        async with await to.open(
            exchange, lambda there: open_bridge(endpoint, body, there, exchange, hooks)
        ) as bridge:
            if body.get("stream") is True:
                await writer.stream(bridge.frames(), bridge.headers)
            else:
                status, payload = await bridge.answer()
                await writer.json(status, payload, bridge.headers)

    async def _create_response(
        self, body: dict[str, Any], to: Targets, request: Request, writer: ClientWriter
    ) -> None:
        """``POST /v1/responses`` over a chat upstream, with the gateway's Responses state (the request's
        owner's)."""
        exchange, owner = request.exchange, request.owner
        converted, own = await self.state.prepare(body, owner)
        if body.get("background") is True:
            background = Exchange(exchange.method, exchange.path, request_id=exchange.request_id)

            async def start(hooks: ResponseHooks) -> Run:
                return await to.open(
                    background, lambda there: open_bridge("responses", converted, there, background, hooks)
                )

            queued = await self.state.start_background(body, own, exchange, owner, start)
            if body.get("stream") is True:  # the run's event log, followed (it goes on if the client leaves)
                await writer.stream(_frames(self.state.logs.follow(queued["id"], -1, owner)))
            else:
                await writer.json(200, json_bytes(queued))
            return
        hooks = self.state.hooks(body, own, exchange, owner)
        await self._translate("responses", converted, to, exchange, writer, hooks)

    # -- counting and compacting ---------------------------------------------------------------------

    async def count_input_tokens(self, request: Request, writer: ClientWriter) -> None:
        """``POST /v1/responses/input_tokens``: the converted request counted (see :mod:`.token_count`)."""
        exchange = request.exchange
        exchange.client_protocol = "responses"
        body = await self._body(request)
        upstream_config, to = self._counting_destination(request, body)
        if upstream_config.protocol == "responses":
            await writer.json(200, await _forwarded(to, "/responses/input_tokens", body))
            return
        profile = upstream_config.capabilities
        with conversion_errors():
            prepared, _ = await self.state.prepare({**body, "store": False}, request.owner)
            converted = convert_responses_request({**prepared, "model": to.model or "model"}, profile)
        exchange.dropped = [str(drop) for drop in converted.dropped]
        count, exact = await count_tokens(converted.params, to, profile)
        answer = json_bytes({"object": "response.input_tokens", "input_tokens": count})
        await writer.json(200, answer, [(b"x-translator-token-count", b"exact" if exact else b"estimate")])

    def _counting_destination(
        self, request: Request, body: dict[str, Any]
    ) -> tuple[UpstreamConfig, Destination]:
        """The upstream that counts: the model's, or without a model the default upstream (estimating)."""
        if body.get("model") is not None:
            model = _model_of(body)
            request.exchange.model = model
            return self._destination(request, model)
        config = self.config
        default = config.default_upstream
        upstream_config = None if default is None else config.upstreams[default]
        if upstream_config is None or (
            upstream_config.protocol == "chat" and upstream_config.capabilities.count_tokens != "estimate"
        ):
            raise GatewayError.bad_request("'model' is required to count here", param="model")
        request.exchange.upstream = upstream_config.name
        to = Destination(self.upstreams[upstream_config.name], "", self._client_authorization(request.scope))
        return upstream_config, to

    async def compact_response(self, request: Request, writer: ClientWriter) -> None:
        """``POST /v1/responses/compact``: the conversation summarized by the upstream model."""
        exchange = request.exchange
        exchange.client_protocol = "responses"
        body = await self._body(request)
        model = _model_of(body)
        exchange.model = model
        upstream_config, to = self._destination(request, model)
        if upstream_config.protocol == "responses":
            await writer.json(200, await _forwarded(to, "/responses/compact", body))
            return

        async def summarize(ask: dict[str, Any]) -> dict[str, Any]:
            bridge = await open_bridge("responses", ask, to, exchange)
            _, payload = await bridge.answer()
            final: dict[str, Any] = orjson.loads(payload)
            return final

        with conversion_errors():
            compacted = await self.state.compact(body, summarize, request.owner)
        await writer.json(200, json_bytes(compacted))

    # -- stored responses -----------------------------------------------------------------------------

    async def get_response(self, request: Request, writer: ClientWriter) -> None:
        response_id = request.params["response_id"]
        after = await self.state.resume(response_id, request.query, request.owner)
        if after is not None:  # a background response's events after ``starting_after``, then live ones
            request.exchange.client_protocol = "responses"
            request.exchange.stream = True
            await writer.stream(_frames(self.state.logs.follow(response_id, after, request.owner)))
            return
        await self._stored(request, writer, "GET", "", self.state.get)

    async def delete_response(self, request: Request, writer: ClientWriter) -> None:
        await self._stored(request, writer, "DELETE", "", self.state.delete)

    async def list_input_items(self, request: Request, writer: ClientWriter) -> None:
        async def page(response_id: str, owner: str) -> dict[str, Any]:
            return await self.state.input_items(response_id, owner, request.query)

        await self._stored(request, writer, "GET", "/input_items", page)

    async def cancel_response(self, request: Request, writer: ClientWriter) -> None:
        await self._stored(request, writer, "POST", "/cancel", self.state.cancel)

    async def _stored(
        self,
        request: Request,
        writer: ClientWriter,
        method: str,
        action: str,
        serve: Callable[[str, str], Awaitable[dict[str, Any]]],
    ) -> None:
        """The gateway's own store first (the request owner's responses only); a response it does not hold
        is asked of the default upstream when that one speaks Responses (it keeps the state of the requests
        relayed to it) and scopes it by the client's own key (see :meth:`_forwardable`)."""
        request.exchange.client_protocol = "responses"
        response_id = request.params["response_id"]
        try:
            await writer.json(200, json_bytes(await serve(response_id, request.owner)))
            return
        except GatewayError as exc:
            default = self.config.default_upstream
            if exc.status != 404 or default is None or not self._forwardable(default):
                raise
            if not set(response_id) <= _ID_CHARACTERS:  # never forward a path or a query
                raise
        upstream = self.upstreams[default]
        request.exchange.upstream = upstream.name
        path = f"/responses/{quote(response_id, safe='')}{action}"
        response = await upstream.forward(
            method,
            path,
            request.query.decode("latin-1"),
            authorization=self._client_authorization(request.scope),
        )
        try:
            body = json_bytes(await response.json())
        finally:
            await response.aclose()
        await writer.json(200, body)


def _basic_password(token: str) -> bytes:
    """The password of an HTTP Basic ``user:password`` (any user); empty when malformed."""
    try:
        return base64.b64decode(token, validate=True).partition(b":")[2]
    except (binascii.Error, ValueError):
        return b""


async def _frames(lists: AsyncGenerator[list[dict[str, Any]], None]) -> AsyncIterator[bytes]:
    """Logged events as SSE."""
    async with contextlib.aclosing(lists) as events:
        async for out in events:
            yield event_frames(out)


@contextlib.contextmanager
def conversion_errors() -> Iterator[None]:
    """A request the converter refuses, as a 400 naming the field."""
    try:
        yield
    except ConversionError as exc:
        param = exc.path.removeprefix("request.") if exc.path else None
        raise GatewayError.bad_request(f"invalid request: {exc}", param=param) from None


async def _forwarded(to: Destination, path: str, body: dict[str, Any]) -> bytes:
    """``body`` POSTed to a Responses upstream as it is (the routed model in place of the client's), its
    JSON answer."""
    if to.model:
        body = {**body, "model": to.model}
    response = await to.upstream.post(path, body, authorization=to.authorization, stream=False)
    try:
        return json_bytes(await response.json())
    finally:
        await response.aclose()


def _model_of(body: dict[str, Any]) -> str:
    """The request's ``model`` (checked, with ``stream``: 400 naming the field)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise GatewayError.bad_request("'model' is required and must be a non-empty string", param="model")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise GatewayError.bad_request(
            f"'stream' must be a boolean, got {type(stream).__name__}", param="stream"
        )
    return model
