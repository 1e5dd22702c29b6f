"""The gateway's configuration: upstreams, model routes, inbound keys, limits.

A TOML file (``--config gateway.toml``) and the command-line flags build one :class:`GatewayConfig`;
flags override the file.  Every value is checked at start: a bad config raises :class:`ConfigError`
naming the key (``upstreams.ollama.protocol: must be 'chat' or 'responses', got 'grpc'``), and so does
an unknown key, so a typo never passes silently.

The file's reference, every key of ``[server]``, ``[upstreams.NAME]``,
``[upstreams.NAME.capabilities]`` and ``[models."NAME"]`` with its default and meaning, is
``docs/gateway/configuration.md``, the one copy; ``tests/gateway/test_config_docs.py`` loads its
examples with :func:`load_config` and fails when a key accepted here is missing there.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ProfileError
from ..protocol.capabilities import UpstreamProfile

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "ConfigError",
    "GatewayConfig",
    "Route",
    "UpstreamConfig",
    "load_config",
]

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
PROTOCOLS = ("chat", "responses")
DEFAULT_UPSTREAM = "default"


class ConfigError(ValueError):
    """The gateway configuration is invalid; ``key`` names the offending setting."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"{key}: {reason}")


@dataclass(frozen=True, slots=True)
class UpstreamConfig:
    name: str
    base_url: str
    protocol: str = "chat"
    key_env: str | None = None
    connect_timeout: float = 10.0
    first_byte_timeout: float = 300.0
    read_timeout: float = 120.0
    max_connections: int = 1000
    #: Extra tries of this upstream after a failure before its answer started (``attempts``).
    retries: int = 0
    #: Seconds before the first retry, doubling for each next one.
    retry_backoff: float = 0.5
    #: The longest ``retry-after`` (429, 503) the gateway waits on this upstream.
    max_retry_after: float = 10.0
    #: What the upstream accepts (``[upstreams.NAME.capabilities]``, :mod:`translator.protocol.capabilities`).
    capabilities: UpstreamProfile = field(default_factory=UpstreamProfile)

    def api_key(self) -> str | None:
        """The upstream key from ``key_env`` (``None`` when no variable is named)."""
        if self.key_env is None:
            return None
        return os.environ.get(self.key_env) or None


@dataclass(frozen=True, slots=True)
class Route:
    """A model name clients use, and where it goes: an upstream, then its fallbacks in order."""

    name: str
    upstream: str
    model: str
    #: (upstream, model) pairs tried in turn when the ones before failed before answering.
    fallbacks: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    upstreams: Mapping[str, UpstreamConfig]
    routes: Mapping[str, Route] = field(default_factory=dict)
    default_upstream: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    client_timeout: float = 60.0
    api_keys: tuple[str, ...] = ()
    store: str = "sqlite"
    store_ttl_seconds: int = 30 * 24 * 3600
    store_max_bytes: int = 16 * 1024 * 1024
    #: The most live stored bytes (responses and conversation items) of one owner, and of all owners:
    #: 413 ``store_quota_exceeded`` / 507 ``store_full`` beyond, checked before the upstream is called.
    store_quota_per_owner: int = 1024**3
    store_quota_total: int = 8 * 1024**3
    #: The most items one request's ``input`` (or ``messages``) may have (413 beyond, before any work).
    max_input_items: int = 20_000
    #: The most JSON values a client's body or WebSocket message may hold: 413 beyond, counted on its
    #: bytes before it is parsed (see :mod:`.json_body`).
    max_json_values: int = 2_000_000
    #: The most items, and stored bytes, of the conversation a request continues (``previous_response_id``
    #: or ``conversation``) plus its own input: 413 beyond, checked before the conversation is loaded.
    max_conversation_items: int = 20_000
    max_conversation_bytes: int = 16 * 1024 * 1024
    #: Background responses one owner may have running at once on one instance (429 beyond).
    max_background_per_owner: int = 16
    #: Seconds a background run's lease lasts unless renewed (every third of it) by its instance; a run
    #: whose instance died is finalized as ``failed`` by the next reader once it lapses.
    background_lease_seconds: float = 30.0
    #: One scope for every request's stored state (``[server] single_user``): see :mod:`.owners`.
    single_user: bool = False
    #: The key of the owners' keyed hash (``owner_secret_env``'s value); ``None``: the store's own.
    owner_secret: bytes | None = field(default=None, repr=False)
    #: Prometheus metrics (``GET /metrics``) and the status page (``GET /status``)
    metrics: bool = True
    #: whether ``/metrics`` and ``/status`` answer without the inbound key
    metrics_public: bool = False
    #: the Responses WebSocket (:mod:`translator.gateway.socket_session`): the largest client message
    #: (a larger one closes the socket with 1009), seconds without a message or a running response before
    #: the gateway closes it, and the keepalive pings (a client that does not answer one within
    #: ``websocket_ping_timeout`` seconds is dropped)
    websocket_max_message_bytes: int = DEFAULT_MAX_BODY_BYTES
    websocket_idle_timeout: float = 600.0
    websocket_ping_interval: float = 20.0
    websocket_ping_timeout: float = 20.0

    def resolve(self, model: str) -> tuple[UpstreamConfig, str] | None:
        """The upstream and the upstream's model name for ``model``; ``None`` when it is not routed."""
        route = self.routes.get(model)
        if route is not None:
            return self.upstreams[route.upstream], route.model
        if self.default_upstream is not None and not self.routes:
            return self.upstreams[self.default_upstream], model
        return None

    def targets(self, model: str) -> list[tuple[UpstreamConfig, str]] | None:
        """Every upstream that may serve ``model``, in order, with its name for the model: the route's
        upstream, then its ``fallbacks``; ``None`` when it is not routed."""
        first = self.resolve(model)
        if first is None:
            return None
        route = self.routes.get(model)
        rest = route.fallbacks if route is not None else ()
        return [first, *((self.upstreams[name], name_there) for name, name_there in rest)]


# -- reading --------------------------------------------------------------------------------------

_SERVER_KEYS = {
    "host",
    "port",
    "max_body_bytes",
    "client_timeout",
    "api_keys_env",
    "default_upstream",
    "store",
    "store_ttl_seconds",
    "store_max_bytes",
    "store_quota_per_owner",
    "store_quota_total",
    "background_lease_seconds",
    "single_user",
    "owner_secret_env",
    "metrics",
    "metrics_public",
    "websocket_max_message_bytes",
    "websocket_idle_timeout",
    "websocket_ping_interval",
    "websocket_ping_timeout",
}
#: The ``[server]`` keys that are positive integers, with their defaults (fields of :class:`GatewayConfig`).
_SERVER_INTEGERS = {
    "max_input_items": 20_000,
    "max_json_values": 2_000_000,
    "max_conversation_items": 20_000,
    "max_conversation_bytes": 16 * 1024 * 1024,
    "max_background_per_owner": 16,
}
_SERVER_KEYS |= set(_SERVER_INTEGERS)
_UPSTREAM_KEYS = {
    "base_url",
    "protocol",
    "key_env",
    "connect_timeout",
    "first_byte_timeout",
    "read_timeout",
    "max_connections",
    "retries",
    "retry_backoff",
    "max_retry_after",
    "capabilities",
}
_ROUTE_KEYS = {"upstream", "model", "fallbacks"}


def _table(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(key, f"must be a table, got {type(value).__name__}")
    return value


def _unknown(table: dict[str, Any], allowed: set[str], key: str) -> None:
    for name in table:
        if name not in allowed:
            raise ConfigError(
                f"{key}.{name}" if key else name, f"unknown key (known: {', '.join(sorted(allowed))})"
            )


def _str(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(key, f"must be a non-empty string, got {value!r}")
    return value


def _number(value: Any, key: str, *, integer: bool = False) -> float:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
        kind = "a positive integer" if integer else "a positive number"
        raise ConfigError(key, f"must be {kind}, got {value!r}")
    return value


def _count(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise ConfigError(key, f"must be an integer from 0 to 10, got {value!r}")
    return value


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, got {value!r}")
    return value


def _base_url(value: Any, key: str) -> str:
    url = _str(value, key)
    if not url.startswith(("http://", "https://")):
        raise ConfigError(key, f"must be an http:// or https:// URL, got {url!r}")
    return url.rstrip("/")


def _protocol(value: Any, key: str) -> str:
    if value not in PROTOCOLS:
        raise ConfigError(key, f"must be 'chat' or 'responses', got {value!r}")
    return str(value)


def _env_name(value: Any, key: str) -> str:
    name = _str(value, key)
    if not name.replace("_", "").isalnum():
        raise ConfigError(key, f"must name an environment variable, got {name!r}")
    return name


def _capabilities(value: Any, key: str) -> UpstreamProfile:
    try:
        return UpstreamProfile.from_mapping(_table(value, key))
    except ProfileError as exc:
        raise ConfigError(f"{key}.{exc.key}" if exc.key else key, exc.reason) from None


def _upstream(name: str, value: Any) -> UpstreamConfig:
    key = f"upstreams.{name}"
    table = _table(value, key)
    _unknown(table, _UPSTREAM_KEYS, key)
    if "base_url" not in table:
        raise ConfigError(f"{key}.base_url", "is required")
    return UpstreamConfig(
        name=name,
        base_url=_base_url(table["base_url"], f"{key}.base_url"),
        protocol=_protocol(table.get("protocol", "chat"), f"{key}.protocol"),
        key_env=_env_name(table["key_env"], f"{key}.key_env") if "key_env" in table else None,
        connect_timeout=_number(table.get("connect_timeout", 10.0), f"{key}.connect_timeout"),
        first_byte_timeout=_number(table.get("first_byte_timeout", 300.0), f"{key}.first_byte_timeout"),
        read_timeout=_number(table.get("read_timeout", 120.0), f"{key}.read_timeout"),
        max_connections=int(
            _number(table.get("max_connections", 1000), f"{key}.max_connections", integer=True)
        ),
        retries=_count(table.get("retries", 0), f"{key}.retries"),
        retry_backoff=_number(table.get("retry_backoff", 0.5), f"{key}.retry_backoff"),
        max_retry_after=_number(table.get("max_retry_after", 10.0), f"{key}.max_retry_after"),
        capabilities=_capabilities(table.get("capabilities", {}), f"{key}.capabilities"),
    )


def _api_keys(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(key, "must be a non-empty list of environment variable names")
    keys = []
    for n, name in enumerate(value):
        name = _env_name(name, f"{key}[{n}]")
        secret = os.environ.get(name)
        if not secret:
            raise ConfigError(f"{key}[{n}]", f"environment variable {name} is not set or empty")
        keys.append(secret)
    return tuple(keys)


def _owner_secret(value: Any, key: str) -> bytes:
    name = _env_name(value, key)
    secret = os.environ.get(name)
    if not secret:
        raise ConfigError(key, f"environment variable {name} is not set or empty")
    if len(secret.encode()) < 16:
        raise ConfigError(key, f"environment variable {name} must hold at least 16 bytes")
    return secret.encode()


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    upstream: str | None = None,
    upstream_protocol: str | None = None,
    upstream_key_env: str | None = None,
    host: str | None = None,
    port: int | None = None,
    store: str | None = None,
    max_body_bytes: int | None = None,
) -> GatewayConfig:
    """The configuration from the TOML file at ``path`` (if any) with the command-line values over it.

    ``upstream`` (``--upstream URL``) sets the upstream named ``default`` (replacing its URL when the
    file has one), and with no routes in the file every model goes to it.
    """
    data = _read_toml(path)
    _unknown(data, {"server", "upstreams", "models"}, "")
    server = _table(data.get("server", {}), "server")
    _unknown(server, _SERVER_KEYS, "server")
    upstreams = {
        name: _upstream(name, value) for name, value in _table(data.get("upstreams", {}), "upstreams").items()
    }
    if upstream is not None:
        base = upstreams.get(DEFAULT_UPSTREAM)
        url = _base_url(upstream, "--upstream")
        upstreams[DEFAULT_UPSTREAM] = (
            replace(base, base_url=url) if base else UpstreamConfig(name=DEFAULT_UPSTREAM, base_url=url)
        )
    default = _default_upstream(server, upstreams, given=upstream is not None)
    _apply_upstream_flags(upstreams, default, upstream_protocol, upstream_key_env)
    if not upstreams:
        raise ConfigError("upstreams", "no upstream: give --upstream URL or an [upstreams.NAME] table")
    _check_upstream_keys(upstreams, default, flagged=upstream_key_env is not None)
    routes = _routes(_table(data.get("models", {}), "models"), upstreams, default)
    port_value = port if port is not None else server.get("port", 8080)
    if isinstance(port_value, bool) or not isinstance(port_value, int) or not 0 <= port_value <= 65535:
        raise ConfigError(
            "server.port" if port is None else "--port", f"must be a port number, got {port_value!r}"
        )
    host_value = host if host is not None else server.get("host", "127.0.0.1")
    body_limit = max_body_bytes if max_body_bytes is not None else server.get("max_body_bytes")
    store_value = store if store is not None else server.get("store", "sqlite")
    return GatewayConfig(
        upstreams=upstreams,
        routes=routes,
        default_upstream=default,
        host=_str(host_value, "server.host" if host is None else "--host"),
        port=port_value,
        max_body_bytes=int(_number(body_limit, "server.max_body_bytes", integer=True))
        if body_limit is not None
        else DEFAULT_MAX_BODY_BYTES,
        client_timeout=_number(server.get("client_timeout", 60.0), "server.client_timeout"),
        api_keys=_api_keys(server["api_keys_env"], "server.api_keys_env") if "api_keys_env" in server else (),
        store=_str(store_value, "server.store" if store is None else "--store"),
        store_ttl_seconds=int(
            _number(server.get("store_ttl_seconds", 30 * 24 * 3600), "server.store_ttl_seconds", integer=True)
        ),
        store_max_bytes=int(
            _number(server.get("store_max_bytes", 16 * 1024 * 1024), "server.store_max_bytes", integer=True)
        ),
        store_quota_per_owner=int(
            _number(
                server.get("store_quota_per_owner", 1024**3), "server.store_quota_per_owner", integer=True
            )
        ),
        store_quota_total=int(
            _number(server.get("store_quota_total", 8 * 1024**3), "server.store_quota_total", integer=True)
        ),
        single_user=_bool(server.get("single_user", False), "server.single_user"),
        owner_secret=_owner_secret(server["owner_secret_env"], "server.owner_secret_env")
        if "owner_secret_env" in server
        else None,
        background_lease_seconds=float(
            _number(server.get("background_lease_seconds", 30.0), "server.background_lease_seconds")
        ),
        metrics=_bool(server.get("metrics", True), "server.metrics"),
        metrics_public=_bool(server.get("metrics_public", False), "server.metrics_public"),
        **{
            name: int(_number(server.get(name, default), f"server.{name}", integer=True))
            for name, default in _SERVER_INTEGERS.items()
        },
        **_websocket(server),
    )


def _websocket(server: dict[str, Any]) -> dict[str, Any]:
    """The ``websocket_*`` keys of ``[server]``."""
    size = server.get("websocket_max_message_bytes", DEFAULT_MAX_BODY_BYTES)
    return {
        "websocket_max_message_bytes": int(_number(size, "server.websocket_max_message_bytes", integer=True)),
        **{
            key: float(_number(server.get(key, default), f"server.{key}"))
            for key, default in (
                ("websocket_idle_timeout", 600.0),
                ("websocket_ping_interval", 20.0),
                ("websocket_ping_timeout", 20.0),
            )
        },
    }


def _read_toml(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data: dict[str, Any] = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        return data
    except FileNotFoundError:
        raise ConfigError("--config", f"file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("--config", f"{path} is not valid TOML: {exc}") from None


def _default_upstream(
    server: dict[str, Any], upstreams: dict[str, UpstreamConfig], *, given: bool
) -> str | None:
    """``server.default_upstream``; else ``default`` when ``--upstream`` was given; else the only one."""
    default = server.get("default_upstream")
    if default is not None:
        default = _str(default, "server.default_upstream")
    elif given:
        default = DEFAULT_UPSTREAM
    elif len(upstreams) == 1:
        default = next(iter(upstreams))
    if default is not None and default not in upstreams:
        raise ConfigError("server.default_upstream", f"names no upstream: {default!r}")
    return default


def _apply_upstream_flags(
    upstreams: dict[str, UpstreamConfig],
    default: str | None,
    protocol: str | None,
    key_env: str | None,
) -> None:
    """``--upstream-protocol`` and ``--upstream-key-env``, applied to the default upstream."""
    if default is None:
        if protocol is not None or key_env is not None:
            raise ConfigError(
                "--upstream", "--upstream-protocol/--upstream-key-env need an upstream to apply to"
            )
        return
    overrides: dict[str, Any] = {}
    if protocol is not None:
        overrides["protocol"] = _protocol(protocol, "--upstream-protocol")
    if key_env is not None:
        overrides["key_env"] = _env_name(key_env, "--upstream-key-env")
    if overrides:
        upstreams[default] = replace(upstreams[default], **overrides)


def _check_upstream_keys(upstreams: dict[str, UpstreamConfig], default: str | None, *, flagged: bool) -> None:
    """Every ``key_env`` names a set, non-empty variable: a gateway that would call an upstream without
    its key (or, worse, with the client's) does not start."""
    for name, upstream in upstreams.items():
        if upstream.key_env is not None and upstream.api_key() is None:
            key = "--upstream-key-env" if flagged and name == default else f"upstreams.{name}.key_env"
            raise ConfigError(key, f"environment variable {upstream.key_env} is not set or empty")


def _routes(
    models: dict[str, Any], upstreams: dict[str, UpstreamConfig], default: str | None
) -> dict[str, Route]:
    """The ``[models."NAME"]`` tables: which upstream serves each model, under which name."""
    routes: dict[str, Route] = {}
    for name, value in models.items():
        key = f"models.{name}"
        table = _table(value, key)
        _unknown(table, _ROUTE_KEYS, key)
        target = table.get("upstream", default)
        if target is None:
            raise ConfigError(f"{key}.upstream", "is required when there is no default upstream")
        target = _str(target, f"{key}.upstream")
        if target not in upstreams:
            raise ConfigError(f"{key}.upstream", f"names no upstream: {target!r}")
        model = _str(table.get("model", name), f"{key}.model")
        fallbacks = _fallbacks(table.get("fallbacks", []), f"{key}.fallbacks", upstreams, target, model)
        routes[name] = Route(name=name, upstream=target, model=model, fallbacks=fallbacks)
    return routes


def _fallbacks(
    value: Any, key: str, upstreams: dict[str, UpstreamConfig], first: str, model: str
) -> tuple[tuple[str, str], ...]:
    """``fallbacks``: upstream names (the route's model name there) or ``{upstream, model}`` tables, each
    speaking the protocol of the route's upstream (the exchange, relayed or translated, is decided once)."""
    if not isinstance(value, list):
        raise ConfigError(key, f"must be a list of upstream names, got {type(value).__name__}")
    out = []
    for n, entry in enumerate(value):
        where = f"{key}[{n}]"
        if isinstance(entry, dict):
            _unknown(entry, {"upstream", "model"}, where)
            name = _str(entry.get("upstream"), f"{where}.upstream")
            there = _str(entry.get("model", model), f"{where}.model")
        else:
            name, there = _str(entry, where), model
        if name not in upstreams:
            raise ConfigError(where, f"names no upstream: {name!r}")
        if upstreams[name].protocol != upstreams[first].protocol:
            raise ConfigError(
                where,
                f"upstream {name!r} speaks {upstreams[name].protocol!r}, not {upstreams[first].protocol!r}"
                f" as {first!r} does: a fallback must speak the protocol of the route's upstream",
            )
        out.append((name, there))
    return tuple(out)
