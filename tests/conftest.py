from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.store_helpers import (
    PREFIXES,
    REDIS_URL,
    RUN_PREFIX,
    Backend,
    delete_redis_keys,
    redis_unavailable,
)

# CI replays the same examples on every run (a red CI must mean a change broke something); local runs
# draw new examples each time, so bugs keep being searched for.  HYPOTHESIS_PROFILE overrides.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


# -- response store (translator.gateway.store) ------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each backend in turn, empty; Redis under a prefix of this test's own, deleted afterwards."""
    if request.param == "memory":
        yield Backend("memory", "memory")
    elif request.param == "sqlite":
        yield Backend("sqlite", f"sqlite:{tmp_path / 'responses.sqlite3'}")
    else:
        reason = redis_unavailable()
        if reason:
            pytest.skip(reason)
        prefix = f"{RUN_PREFIX}{next(PREFIXES)}:"
        try:
            yield Backend("redis", REDIS_URL, prefix)
        finally:
            delete_redis_keys(prefix)
