"""A second process for the response-store tests: ``python store_worker.py SPEC PREFIX ACTION ARGS...``.

Actions (each prints one JSON line of what it did):

* ``fork PARENT COUNT TAG``: create COUNT responses continuing PARENT, all at once, each followed by a
  child of its own; prints their ids.
* ``continue PARENT ID``: create ID continuing PARENT; prints the conversation it continued from.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.store_helpers import OWNER, make_response, turn_input
from translator.gateway.store import open_store


async def main(spec: str, prefix: str, action: str, *args: str) -> None:
    async with open_store(spec, key_prefix=prefix or None) as store:
        if action == "fork":
            parent, count, tag = args[0], int(args[1]), args[2]

            async def branch(n: int) -> list[str]:
                child, grandchild = f"resp_{tag}_{n}", f"resp_{tag}_{n}_next"
                await store.create(make_response(child, parent=parent), turn_input(child, 2), owner=OWNER)
                await store.create(
                    make_response(grandchild, parent=child), turn_input(grandchild), owner=OWNER
                )
                return [child, grandchild]

            made = await asyncio.gather(*(branch(n) for n in range(count)))
            print(orjson.dumps({"created": [rid for pair in made for rid in pair]}).decode())
        elif action == "continue":
            parent, response_id = args
            history = [item["id"] async for item in store.conversation(parent, owner=OWNER)]
            await store.create(
                make_response(response_id, parent=parent), turn_input(response_id), owner=OWNER
            )
            print(orjson.dumps({"history": history}).decode())
        else:
            raise SystemExit(f"unknown action {action!r}")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
