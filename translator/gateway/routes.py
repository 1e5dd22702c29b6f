"""The gateway's routes, in one table: which paths exist, which methods each takes, which are public.

Every versioned route answers with and without the ``/v1`` prefix.  A path no route matches is a 404
naming it; a path matched with a method it does not take is a 405 naming the methods it does.  Both are
decided here and nowhere else.  A ``{name}`` segment matches one non-empty path segment and is handed to
the endpoint as a parameter; routes are tried in order, so ``/responses/compact`` is never taken for a
response id.

=======  ============================================  ===================================================
method   path                                          endpoint
=======  ============================================  ===================================================
GET      ``/health`` (public, no ``/v1``)              ``health``: 200 once the upstream clients are ready
GET      ``/metrics`` (operations, no ``/v1``)         ``metrics``: Prometheus metrics (:mod:`.metrics`)
GET      ``/status`` (operations, no ``/v1``)          ``status_page``: the live status page
GET      ``/status/feed`` (operations, no ``/v1``)     ``status_feed``: the JSON the page polls
GET      ``/models``                                   ``models``: the routed models, or the upstream's list
POST     ``/responses``                                ``create_response``: translated or relayed
POST     ``/chat/completions``                         ``create_chat_completion``: translated or relayed
POST     ``/responses/input_tokens``                   ``count_input_tokens``: counted, or relayed
POST     ``/responses/compact``                        ``compact_response``: summarized, or relayed
GET      ``/responses/{response_id}``                  ``get_response``
DELETE   ``/responses/{response_id}``                  ``delete_response``
GET      ``/responses/{response_id}/input_items``      ``list_input_items``
POST     ``/responses/{response_id}/cancel``           ``cancel_response``
POST     ``/conversations``                            ``create_conversation``
GET      ``/conversations/{conversation_id}``          ``get_conversation`` (``POST``: update, ``DELETE``)
POST     ``/conversations/{conversation_id}/items``    ``add_conversation_items`` (``GET``: list)
GET      ``/conversations/{id}/items/{item_id}``       ``get_conversation_item`` (``DELETE``: delete)
=======  ============================================  ===================================================

The operations routes take the inbound key as a Bearer token or as an HTTP Basic password (what a browser
sends), or none with ``[server] metrics_public = true``; with ``metrics = false`` they answer 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .errors import GatewayError

__all__ = ["ENDPOINTS", "ROUTES", "Match", "Route", "access", "is_public", "match", "name_of"]


@dataclass(frozen=True, slots=True)
class Route:
    """One path: its pattern (``/responses/{response_id}``), its endpoints by method, whether it takes the
    ``/v1`` prefix, whether it is served without an inbound key, whether it is an operations route
    (metrics, status: the key rule of ``metrics_public``)."""

    pattern: str
    methods: Mapping[str, str]
    versioned: bool = True
    public: bool = False
    operations: bool = False

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.pattern.removeprefix("/").split("/"))


@dataclass(frozen=True, slots=True)
class Match:
    """A routed request: the endpoint's name and the path's parameters."""

    endpoint: str
    params: Mapping[str, str]


ROUTES: tuple[Route, ...] = (
    Route("/health", MappingProxyType({"GET": "health"}), versioned=False, public=True),
    Route("/metrics", MappingProxyType({"GET": "metrics"}), versioned=False, operations=True),
    Route("/status", MappingProxyType({"GET": "status_page"}), versioned=False, operations=True),
    Route("/status/feed", MappingProxyType({"GET": "status_feed"}), versioned=False, operations=True),
    Route("/models", MappingProxyType({"GET": "models"})),
    Route("/responses", MappingProxyType({"POST": "create_response"})),
    Route("/chat/completions", MappingProxyType({"POST": "create_chat_completion"})),
    Route("/responses/input_tokens", MappingProxyType({"POST": "count_input_tokens"})),
    Route("/responses/compact", MappingProxyType({"POST": "compact_response"})),
    Route(
        "/responses/{response_id}",
        MappingProxyType({"GET": "get_response", "DELETE": "delete_response"}),
    ),
    Route("/responses/{response_id}/input_items", MappingProxyType({"GET": "list_input_items"})),
    Route("/responses/{response_id}/cancel", MappingProxyType({"POST": "cancel_response"})),
    Route("/conversations", MappingProxyType({"POST": "create_conversation"})),
    Route(
        "/conversations/{conversation_id}",
        MappingProxyType(
            {"GET": "get_conversation", "POST": "update_conversation", "DELETE": "delete_conversation"}
        ),
    ),
    Route(
        "/conversations/{conversation_id}/items",
        MappingProxyType({"POST": "add_conversation_items", "GET": "list_conversation_items"}),
    ),
    Route(
        "/conversations/{conversation_id}/items/{item_id}",
        MappingProxyType({"GET": "get_conversation_item", "DELETE": "delete_conversation_item"}),
    ),
)

#: The endpoints every route names (the gateway checks at start that it has each of them).
ENDPOINTS = frozenset(name for route in ROUTES for name in route.methods.values())


def _params(route: Route, segments: list[str]) -> dict[str, str] | None:
    pattern = route.segments
    if len(pattern) != len(segments):
        return None
    params: dict[str, str] = {}
    for expected, given in zip(pattern, segments, strict=True):
        if expected.startswith("{") and expected.endswith("}"):
            if not given:
                return None
            params[expected[1:-1]] = given
        elif expected != given:
            return None
    return params


def _find(path: str) -> tuple[Route, dict[str, str]] | None:
    versioned = path.startswith("/v1/")
    segments = (path[3:] if versioned else path).removeprefix("/").split("/")
    for route in ROUTES:
        if versioned and not route.versioned:
            continue
        params = _params(route, segments)
        if params is not None:
            return route, params
    return None


def access(path: str) -> str:
    """``public`` (no key), ``operations`` (the key unless ``metrics_public``; Bearer or Basic) or ``key``
    (checked before routing, so that an unknown path asked without a key is a 401)."""
    found = _find(path)
    if found is None:
        return "key"
    route = found[0]
    return "public" if route.public else "operations" if route.operations else "key"


def name_of(method: str, path: str) -> tuple[str, str]:
    """The endpoint's name and its route (``/v1/responses/{response_id}``) for ``method path``, or
    ``("other", "other")``: a few fixed values whatever the client sends (metrics labels, span names)."""
    found = _find(path)
    if found is None:
        return "other", "other"
    route, _ = found
    endpoint = route.methods.get(method)
    if endpoint is None:
        return "other", "other"
    return endpoint, ("/v1" + route.pattern if route.versioned else route.pattern)


def is_public(path: str) -> bool:
    """Whether ``path`` is served without an inbound key (checked before the key, so that an unknown path
    asked without a key is a 401, not a list of what exists)."""
    found = _find(path)
    return found is not None and found[0].public


def match(method: str, path: str) -> Match:
    """The endpoint for ``method path``; :class:`GatewayError` 404 or 405 when there is none."""
    found = _find(path)
    if found is None:
        raise GatewayError.not_found(f"no such endpoint: {method} {path}", code="not_found")
    route, params = found
    endpoint = route.methods.get(method)
    if endpoint is None:
        allowed = ", ".join(route.methods)
        raise GatewayError(
            405,
            f"{method} is not allowed on {path}; use {allowed}",
            type="invalid_request_error",
            headers=[(b"allow", allowed.encode())],
        )
    return Match(endpoint, MappingProxyType(params))
