"""pytest plugin entry point (registered as ``pytest11: translator``); fixtures are added by the snapshot tooling."""

from __future__ import annotations
