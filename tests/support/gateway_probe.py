"""``translator serve`` with a stats probe for load tests: ``python tests/support/gateway_probe.py serve``.

The command is the real one (``translator.cli.main``); the probe only observes.  It notes the
:class:`~translator.gateway.app.Gateway` the command builds and the event loop it runs in, and
answers each ``stats`` line on stdin with one JSON line on stdout, computed inside that loop:
``tasks`` (asyncio tasks alive, this probe's own excluded), ``upstream_busy`` and ``upstream_idle``
(connections the upstream pools hold, serving a request or kept alive for the next).
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from typing import Any

from translator.cli import main
from translator.gateway.app import Gateway

_seen: dict[str, Any] = {}
_init = Gateway.__init__
_lifespan = Gateway._lifespan


def _noting_init(self: Gateway, *args: Any, **kwargs: Any) -> None:
    _init(self, *args, **kwargs)
    _seen["gateway"] = self


async def _noting_lifespan(self: Gateway, receive: Any, send: Any) -> None:
    _seen["loop"] = asyncio.get_running_loop()
    await _lifespan(self, receive, send)


async def _stats() -> dict[str, int]:
    gateway: Gateway = _seen["gateway"]
    current = asyncio.current_task()
    counts = [upstream.connection_counts() for upstream in gateway.upstreams.values()]
    return {
        "tasks": sum(1 for task in asyncio.all_tasks() if task is not current),
        "upstream_busy": sum(busy for busy, _ in counts),
        "upstream_idle": sum(idle for _, idle in counts),
    }


def _answer() -> None:
    for line in sys.stdin:
        if line.strip() == "stats":
            stats = asyncio.run_coroutine_threadsafe(_stats(), _seen["loop"]).result(10)
            sys.stdout.write(json.dumps(stats) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    Gateway.__init__ = _noting_init  # type: ignore[method-assign]
    Gateway._lifespan = _noting_lifespan  # type: ignore[method-assign]
    threading.Thread(target=_answer, daemon=True).start()
    sys.exit(main(sys.argv[1:]))
