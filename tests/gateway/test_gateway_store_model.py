"""Property: any sequence of store operations gives, on every backend, what a model of the API gives.

The model is deliberately naive and written from the API's point of view, not the store's: each
response keeps a full copy of the items used to generate it (its *context*, what
``GET /v1/responses/{id}/input_items`` lists), built once when it is created, and deleting a response
never touches another one's copy.  The backends store each response's own items once and walk the
chain instead; the machine checks that both agree after every step, and validates what the store
returns with the openai SDK's types.  Every operation is made by one of two owners: another owner's
response is, for the API as for the store, one that does not exist.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from support.sdk import check_items, check_list, check_response
from support.store_helpers import (
    OTHER_OWNER,
    OWNER,
    Backend,
    call_out,
    delete_redis_keys,
    make_response,
    message_out,
    reasoning_out,
)

from translator.gateway.store import (
    InvalidListParameterError,
    ResponseInProgressError,
    ResponseNotFoundError,
    ResponseStore,
    stored_input_items,
)
from translator.ids import SequentialIds

T = TypeVar("T")

UNFINISHED = ("queued", "in_progress")


@dataclass
class _Modeled:
    response: dict[str, Any]
    context: list[dict[str, Any]]  # the items used to generate it, oldest first
    owner: str
    children: set[str] = field(default_factory=set)

    @property
    def conversation(self) -> list[dict[str, Any]]:
        return self.context + self.response["output"]


class ApiModel:
    """What the Responses API answers, kept as plain lists."""

    def __init__(self) -> None:
        self.live: dict[str, _Modeled] = {}

    def found(self, response_id: str, owner: str) -> _Modeled | None:
        """The response if it is live and ``owner``'s (for anyone else it does not exist)."""
        found = self.live.get(response_id)
        return found if found is not None and found.owner == owner else None

    def create(
        self, response: dict[str, Any], own_input: list[dict[str, Any]], owner: str
    ) -> type[Exception] | None:
        parent_id = response["previous_response_id"]
        context = list(own_input)
        if parent_id is not None:
            parent = self.found(parent_id, owner)
            if parent is None:
                return ResponseNotFoundError
            if parent.response["status"] in UNFINISHED:
                return ResponseInProgressError
            context = parent.conversation + context
            parent.children.add(response["id"])
        self.live[response["id"]] = _Modeled(copy.deepcopy(response), copy.deepcopy(context), owner)
        return None

    def get(self, response_id: str, owner: str) -> dict[str, Any] | None:
        found = self.found(response_id, owner)
        return None if found is None else found.response

    def conversation(self, response_id: str, owner: str) -> list[dict[str, Any]] | None:
        found = self.found(response_id, owner)
        return None if found is None else found.conversation

    def input_items(
        self, response_id: str, owner: str, after: str | None, limit: int, order: str
    ) -> dict[str, Any] | None:
        found = self.found(response_id, owner)
        if found is None:
            return None
        items = found.context
        if after is None:
            cursor = -1 if order == "asc" else len(items)
        else:
            positions = [n for n, item in enumerate(items) if item["id"] == after]
            if not positions:
                raise InvalidListParameterError("after", "unknown")
            cursor = positions[0] if order == "asc" else positions[-1]
        if order == "asc":
            page, has_more = items[cursor + 1 : cursor + 1 + limit], cursor + 1 + limit < len(items)
        else:
            low = max(cursor - limit, 0)
            page, has_more = items[low:cursor][::-1], low > 0
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": has_more,
        }

    def update(self, response: dict[str, Any], owner: str) -> bool:
        found = self.found(response["id"], owner)
        if found is None:
            return False
        stored = found.response["status"]
        if not (stored in UNFINISHED or stored == response["status"] == "cancelled"):
            return False
        found.response = copy.deepcopy(response)
        return True

    def cancel(self, response_id: str, owner: str) -> dict[str, Any] | None:
        found = self.found(response_id, owner)
        if found is None:
            return None
        if found.response["status"] in UNFINISHED:
            found.response["status"] = "cancelled"
        return found.response

    def delete(self, response_id: str, owner: str) -> bool:
        return self.found(response_id, owner) is not None and self.live.pop(response_id) is not None


_SHAPES = {
    "message": lambda rid: [message_out(f"msg_{rid}", f"answer {rid}")],
    "reasoning+message": lambda rid: [reasoning_out(f"rs_{rid}", "hmm"), message_out(f"msg_{rid}", "a")],
    "reasoning+call": lambda rid: [reasoning_out(f"rs_{rid}", "hmm"), call_out(f"fc_{rid}", f"call_{rid}")],
    "none": lambda rid: [],
}


def _own_input(rid: str, texts: list[str], with_call_output: bool) -> list[dict[str, Any]]:
    """The response's own input items; their ids repeat across responses (``msg_0001``...), as a
    client's own ids may, so the cursor rules for repeated ids are exercised too."""
    raw: list[dict[str, Any]] = [{"role": "user", "content": text} for text in texts]
    if with_call_output:
        raw.insert(0, {"type": "function_call_output", "call_id": f"call_for_{rid}", "output": "42"})
    return stored_input_items(raw, ids=SequentialIds())


class StoreMachine(RuleBasedStateMachine):
    """One fresh store per run; every rule applies the same operation to the store and the model."""

    backend: Backend
    workdir: Path

    responses = Bundle("responses")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.spec = self.backend.fresh(self.workdir)
        self.store: ResponseStore = self.spec.open()
        self.model = ApiModel()
        self.made = 0

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.store.close())
        self.loop.close()
        if self.spec.name == "redis" and self.spec.prefix:
            delete_redis_keys(self.spec.prefix)

    def _new_id(self) -> str:
        self.made += 1
        return f"resp_{self.made:03d}"

    def _create(
        self, parent: str | None, texts: list[str], call_output: bool, shape: str, status: str, owner: str
    ) -> str:
        rid = self._new_id()
        output = [] if status in UNFINISHED else _SHAPES[shape](rid)
        response = make_response(
            rid, parent=parent, status=status, output=output, background=status in UNFINISHED
        )
        own = _own_input(rid, texts, call_output)
        expected = self.model.create(response, own, owner)
        if expected is None:
            self.run(self.store.create(response, own, owner=owner))
        else:
            with pytest.raises(expected) as caught:
                self.run(self.store.create(response, own, owner=owner))
            assert caught.value.response_id == parent  # type: ignore[attr-defined]
        return rid

    texts = st.lists(st.text(min_size=1, max_size=12), min_size=0, max_size=3)
    shapes = st.sampled_from(sorted(_SHAPES))
    statuses = st.sampled_from(["completed", "completed", "incomplete", "queued", "in_progress"])
    #: Who makes each operation: mostly the first owner, so that chains grow, sometimes the other one.
    owners = st.sampled_from([OWNER, OWNER, OTHER_OWNER])

    @initialize(target=responses, texts=texts, call_output=st.booleans(), shape=shapes)
    def first(self, texts: list[str], call_output: bool, shape: str) -> str:
        return self._create(None, texts or ["hello"], call_output, shape, "completed", OWNER)

    @rule(
        target=responses, texts=texts, call_output=st.booleans(), shape=shapes, status=statuses, owner=owners
    )
    def create(self, texts: list[str], call_output: bool, shape: str, status: str, owner: str) -> str:
        return self._create(None, texts, call_output, shape, status, owner)

    @rule(
        target=responses,
        parent=responses,
        texts=texts,
        call_output=st.booleans(),
        shape=shapes,
        status=statuses,
        owner=owners,
    )
    def continue_from(
        self, parent: str, texts: list[str], call_output: bool, shape: str, status: str, owner: str
    ) -> str:
        return self._create(parent, texts, call_output, shape, status, owner)

    @rule(response_id=responses, owner=owners)
    def retrieve(self, response_id: str, owner: str) -> None:
        got = self.run(self.store.get(response_id, owner=owner))
        assert got == self.model.get(response_id, owner)
        if got is not None:
            check_response(got)
        expected = self.model.get(response_id, owner)
        assert self.run(self.store.status(response_id, owner=owner)) == (
            None if expected is None else expected["status"]
        )

    @rule(response_id=responses, owner=owners)
    def conversation(self, response_id: str, owner: str) -> None:
        expected = self.model.conversation(response_id, owner)
        found = self.model.get(response_id, owner)
        if expected is None:
            with pytest.raises(ResponseNotFoundError):
                self.run(self._collect(response_id, owner))
        elif found is not None and found["status"] in UNFINISHED:  # nothing continues it yet
            with pytest.raises(ResponseInProgressError):
                self.run(self._collect(response_id, owner))
        else:
            assert check_items(self.run(self._collect(response_id, owner))) == expected

    async def _collect(self, response_id: str, owner: str) -> list[dict[str, Any]]:
        return [item async for item in self.store.conversation(response_id, owner=owner)]

    @rule(
        response_id=responses,
        limit=st.integers(min_value=1, max_value=4) | st.integers(min_value=1, max_value=100),
        order=st.sampled_from(["asc", "desc"]),
        cursor=st.none() | st.integers(min_value=0, max_value=40) | st.just(-1),
        owner=owners,
    )
    def list_input_items(
        self, response_id: str, limit: int, order: Any, cursor: int | None, owner: str
    ) -> None:
        modeled = self.model.live.get(response_id)
        after = None
        if cursor == -1:
            after = "msg_never_stored"
        elif cursor is not None and modeled is not None and modeled.context:
            after = modeled.context[cursor % len(modeled.context)]["id"]
        try:
            expected = self.model.input_items(response_id, owner, after, limit, order)
        except InvalidListParameterError:
            with pytest.raises(InvalidListParameterError) as caught:
                self.run(
                    self.store.input_items(response_id, owner=owner, after=after, limit=limit, order=order)
                )
            assert caught.value.param == "after"
            return
        got = self.run(
            self.store.input_items(response_id, owner=owner, after=after, limit=limit, order=order)
        )
        assert got == expected
        if got is not None:
            check_list(got)

    @rule(
        response_id=responses,
        shape=shapes,
        status=st.sampled_from(["in_progress", "completed", "cancelled"]),
        owner=owners,
    )
    def update(self, response_id: str, shape: str, status: str, owner: str) -> None:
        modeled = self.model.live.get(response_id)
        if modeled is not None and modeled.children and status == "cancelled":
            return  # a finished response's output is fixed; see ResponseStore.update
        base = modeled.response if modeled else make_response(response_id)
        response = {
            **base,
            "status": status,
            "output": [] if status == "in_progress" else _SHAPES[shape](response_id),
        }
        assert self.run(self.store.update(response, owner=owner)) == self.model.update(response, owner)

    @rule(response_id=responses, owner=owners)
    def cancel(self, response_id: str, owner: str) -> None:
        got = self.run(self.store.cancel(response_id, owner=owner))
        assert got == self.model.cancel(response_id, owner)
        if got is not None:
            check_response(got)

    @rule(response_id=responses, owner=owners)
    def delete(self, response_id: str, owner: str) -> None:
        assert self.run(self.store.delete(response_id, owner=owner)) == self.model.delete(response_id, owner)


def test_every_backend_behaves_like_the_api_model(store_backend: Backend, tmp_path: Path) -> None:
    machine = type(
        f"StoreMachine_{store_backend.name}", (StoreMachine,), {"backend": store_backend, "workdir": tmp_path}
    )
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
