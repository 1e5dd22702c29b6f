"""``translator serve``: the gateway under uvicorn (uvloop and httptools when installed).

With ``--workers N`` uvicorn starts N processes; each builds its own :class:`Gateway` from the same
settings (passed to the workers in the ``TRANSLATOR_GATEWAY_SETTINGS`` environment variable).  Their
metrics are kept in prometheus-client's multiprocess files, in a temporary folder made for the run
(``PROMETHEUS_MULTIPROC_DIR``, set for the workers) and removed when it ends, so that any worker's
``/metrics`` counts all of them.  Each process sets up tracing from the ``OTEL_*`` variables
(:func:`~.tracing.configure_from_env`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import orjson

from .app import Gateway
from .config import GatewayConfig, load_config
from .metrics import MULTIPROC_ENV
from .tracing import check_env, configure_from_env

__all__ = ["create_app", "serve"]

_SETTINGS_ENV = "TRANSLATOR_GATEWAY_SETTINGS"


def _setup_logging(level: str) -> None:
    """Log lines go to stderr as they are (the gateway's own lines are JSON)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("translator.gateway")
    log.handlers[:] = [handler]
    log.setLevel(level.upper())
    log.propagate = False


def create_app() -> Gateway:
    """The app of one worker process, from the settings the parent left in the environment."""
    settings: dict[str, Any] = orjson.loads(os.environ[_SETTINGS_ENV])
    _setup_logging(settings.pop("log_level", "info"))
    config = load_config(**settings)
    _bound_request_heads(config)
    configure_from_env()
    return Gateway(config)


def _bound_request_heads(config: GatewayConfig) -> dict[str, Any]:
    """uvicorn's options for HTTP parsing: httptools with a deadline for request heads (slowloris).

    Without httptools (``uvicorn[standard]`` not fully installed) uvicorn's h11 parser is used, and
    request heads are only bounded in size.
    """
    if importlib.util.find_spec("httptools") is None:
        return {"http": "h11", "h11_max_incomplete_event_size": 64 * 1024}
    from .http_parser import HeadTimeoutProtocol

    HeadTimeoutProtocol.head_timeout = config.client_timeout
    return {"http": HeadTimeoutProtocol}


def serve(settings: dict[str, Any], *, workers: int = 1, log_level: str = "info") -> None:
    """Check the settings (a bad config fails here, naming the key), then run until interrupted."""
    import uvicorn

    config: GatewayConfig = load_config(**settings)
    check_env()  # a tracing exporter that is not installed fails here, before listening
    _setup_logging(log_level)
    options: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "log_level": "warning" if log_level == "info" else log_level,
        "access_log": False,
        "lifespan": "on",
        "timeout_keep_alive": 30,
        "timeout_graceful_shutdown": 10,
        "server_header": False,
        **_bound_request_heads(config),
    }
    if importlib.util.find_spec("uvloop") is not None:
        options["loop"] = "uvloop"
    logging.getLogger("translator.gateway").warning(
        "translator gateway listening on http://%s:%d (%d worker%s; upstreams: %s)",
        config.host,
        config.port,
        workers,
        "" if workers == 1 else "s",
        ", ".join(f"{u.name}={u.base_url} ({u.protocol})" for u in config.upstreams.values()),
    )
    if workers > 1:
        os.environ[_SETTINGS_ENV] = orjson.dumps({**settings, "log_level": log_level}).decode()
        with _metrics_folder(config):
            uvicorn.run("translator.gateway.server:create_app", factory=True, workers=workers, **options)
    else:
        configure_from_env()
        uvicorn.run(Gateway(config), **options)


@contextlib.contextmanager
def _metrics_folder(config: GatewayConfig) -> Iterator[None]:
    """prometheus-client's multiprocess folder for the workers' metrics: made for the run, removed after.

    The workers are started afresh (spawned), so they import prometheus_client with it set.
    """
    if not config.metrics:
        yield
        return
    folder = tempfile.mkdtemp(prefix="translator-metrics-")
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = folder
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous
        shutil.rmtree(folder, ignore_errors=True)
