"""The gateway's one-way path: the route table, the client writer, the outcome recorded in one place,
WebSocket upgrades refused with a 4xx, response ids never forwarded as paths, and the uvicorn internals the
head-timeout protocol relies on.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import inspect
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.fake_upstream import UPSTREAM_RESPONSE_ID, FakeUpstream
from support.gateway import RunningGateway, running

from translator.gateway import routes
from translator.gateway.app import Gateway
from translator.gateway.config import load_config
from translator.gateway.errors import GatewayError

GATEWAY = Path(__file__).resolve().parents[2] / "translator" / "gateway"


# -- the route table ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "endpoint", "params"),
    [
        ("GET", "/health", "health", {}),
        ("GET", "/v1/models", "models", {}),
        ("GET", "/models", "models", {}),
        ("POST", "/v1/responses", "create_response", {}),
        ("POST", "/responses", "create_response", {}),
        ("POST", "/v1/chat/completions", "create_chat_completion", {}),
        ("GET", "/v1/responses/resp_1", "get_response", {"response_id": "resp_1"}),
        ("DELETE", "/v1/responses/resp_1", "delete_response", {"response_id": "resp_1"}),
        ("GET", "/v1/responses/resp_1/input_items", "list_input_items", {"response_id": "resp_1"}),
        ("POST", "/responses/resp_1/cancel", "cancel_response", {"response_id": "resp_1"}),
    ],
)
def test_the_table_routes_each_method_and_path(
    method: str, path: str, endpoint: str, params: dict[str, str]
) -> None:
    routed = routes.match(method, path)
    assert (routed.endpoint, dict(routed.params)) == (endpoint, params)


@pytest.mark.parametrize(
    "path",
    ["/v1/health", "/v1", "/", "/v1/responses/", "/v1/responses//cancel", "/v1/responses/r/x", "/v2/models"],
)
def test_a_path_no_route_matches_is_a_404_naming_it(path: str) -> None:
    with pytest.raises(GatewayError) as caught:
        routes.match("GET", path)
    assert caught.value.status == 404
    assert path in caught.value.message


def test_a_method_a_route_does_not_take_is_a_405_naming_the_ones_it_does() -> None:
    with pytest.raises(GatewayError) as caught:
        routes.match("POST", "/v1/responses/resp_1")
    error = caught.value
    assert error.status == 405
    assert error.message == "POST is not allowed on /v1/responses/resp_1; use GET, DELETE"
    assert (b"allow", b"GET, DELETE") in error.headers


def test_only_health_is_public() -> None:
    public = [route.pattern for route in routes.ROUTES if route.public]
    assert public == ["/health"]
    assert routes.is_public("/health") and not routes.is_public("/v1/health")
    assert not routes.is_public("/v1/models") and not routes.is_public("/nowhere")


def test_every_endpoint_the_table_names_exists() -> None:
    gateway = Gateway(load_config(upstream="http://127.0.0.1:9", store="memory"))
    assert gateway.endpoints.by_name().keys() >= routes.ENDPOINTS
    assert set(gateway.endpoints.by_name()) == routes.ENDPOINTS


# -- one writer, one place for the outcome ----------------------------------------------------------------


def _assignments(tree: ast.AST, attributes: set[str]) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            owner = target.value if isinstance(target, ast.Attribute) else None
            is_self = isinstance(owner, ast.Name) and owner.id == "self"  # an object's own fields
            if isinstance(target, ast.Attribute) and target.attr in attributes and not is_self:
                lines.append(node.lineno)
    return lines


def test_the_outcome_of_a_request_is_set_only_through_its_log_record() -> None:
    """A request's status, error and disconnected are assigned in request_log.py alone (its methods);
    elsewhere only an object's own fields of those names (``GatewayError.status``) are."""
    offenders = []
    for path in sorted(GATEWAY.rglob("*.py")):
        if path.name == "request_log.py" or "store" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        lines = _assignments(tree, {"status", "error", "disconnected"})
        offenders += [f"{path.name}:{line}" for line in lines]
    assert offenders == []


def test_only_the_client_writer_sends_to_the_client() -> None:
    """No other module of the gateway builds an http.response message, nor a WebSocket message."""
    kinds = (
        '"http.response.start"',
        '"http.response.body"',
        '"websocket.accept"',
        '"websocket.send"',
        '"websocket.close"',
        '"websocket.http.response.start"',
    )
    writers = sorted(
        path.name for path in GATEWAY.rglob("*.py") if any(kind in path.read_text() for kind in kinds)
    )
    assert writers == ["client_writer.py"]


# -- over a real server -------------------------------------------------------------------------------------


#: A client's own key: without inbound keys the gateway passes it upstream and keeps state apart by it.
CLIENT_AUTH = {"authorization": "Bearer sk-client"}


@pytest.fixture(scope="module")
def relay_gateway(upstream: FakeUpstream) -> Iterator[RunningGateway]:
    config = load_config(upstream=upstream.url, upstream_protocol="responses", store="memory")
    with running(Gateway(config)) as gateway:
        yield gateway


def test_a_405_over_http_carries_allow_and_the_request_id(relay_gateway: RunningGateway) -> None:
    answer = httpx.put(f"{relay_gateway.url}/v1/responses", headers=CLIENT_AUTH, timeout=10)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert answer.headers["x-request-id"].startswith("req_")
    assert answer.json()["error"]["message"] == "PUT is not allowed on /v1/responses; use POST"


def test_an_unknown_path_without_a_key_is_a_401_when_the_gateway_has_keys(upstream: FakeUpstream) -> None:
    config = dataclasses.replace(load_config(upstream=upstream.url, store="memory"), api_keys=("k1",))
    with running(Gateway(config)) as gateway:
        assert httpx.get(f"{gateway.url}/v1/nowhere", timeout=10).status_code == 401
        assert httpx.get(f"{gateway.url}/health", timeout=10).status_code == 200
        keyed = httpx.get(f"{gateway.url}/v1/nowhere", headers={"authorization": "Bearer k1"}, timeout=10)
        assert keyed.status_code == 404


@pytest.mark.parametrize("raw_id", ["%2e%2e", "..", "resp_1%3Fafter=x", "a%20b", "resp_%23x"])
def test_a_response_id_is_never_forwarded_as_a_path_or_a_query(
    relay_gateway: RunningGateway, upstream: FakeUpstream, raw_id: str
) -> None:
    before = len(upstream.seen)
    answer = httpx.get(f"{relay_gateway.url}/v1/responses/{raw_id}", headers=CLIENT_AUTH, timeout=10)
    assert answer.status_code == 404
    assert answer.json()["error"]["type"] == "invalid_request_error"
    assert upstream.seen[before:] == []


def test_a_response_the_gateway_does_not_hold_is_asked_of_a_responses_upstream(
    relay_gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    answer = httpx.get(
        f"{relay_gateway.url}/v1/responses/{UPSTREAM_RESPONSE_ID}", headers=CLIENT_AUTH, timeout=10
    )
    assert answer.status_code == 200
    assert answer.json()["id"] == UPSTREAM_RESPONSE_ID
    assert upstream.last().path == f"/v1/responses/{UPSTREAM_RESPONSE_ID}"


@pytest.mark.parametrize("path", ["/v1/responses/resp_1", "/v1/chat/completions", "/anything"])
def test_a_websocket_upgrade_is_refused_with_a_4xx_never_a_500(
    relay_gateway: RunningGateway, path: str
) -> None:
    import websockets.asyncio.client
    from websockets.exceptions import InvalidStatus

    async def connect() -> int:
        url = relay_gateway.url.replace("http://", "ws://") + path
        with pytest.raises(InvalidStatus) as caught:
            async with websockets.asyncio.client.connect(url, open_timeout=10):
                pass
        return caught.value.response.status_code

    status = asyncio.run(connect())
    assert 400 <= status < 500


# -- the uvicorn internals http_parser.HeadTimeoutProtocol relies on ---------------------------------------


def test_uvicorn_still_has_what_the_head_timeout_protocol_overrides() -> None:
    """Fails loudly when uvicorn changes the internals gateway/http_parser.py subclasses (pyproject pins
    uvicorn below 0.56 for this reason; raise the pin only with this test passing)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from translator.gateway.http_parser import HeadTimeoutProtocol

    overridden = (
        "connection_made",
        "on_message_begin",
        "data_received",
        "on_headers_complete",
        "connection_lost",
    )
    for name in overridden:
        parent = getattr(HttpToolsProtocol, name, None)
        assert callable(parent), f"uvicorn's HttpToolsProtocol has no {name}()"
        mine = inspect.signature(getattr(HeadTimeoutProtocol, name))
        assert list(inspect.signature(parent).parameters) == list(mine.parameters), name
    source = inspect.getsource(HttpToolsProtocol)
    for attribute in ("self.transport", "self.loop", "self.cycle", "response_complete"):
        assert attribute in source, f"uvicorn's HttpToolsProtocol no longer uses {attribute}"
