"""The module paths of the flat layout, kept for one release as thin re-exports of the new modules.

Importing one warns (``DeprecationWarning``) naming where its names live now; the names themselves are
the new modules' own objects, so ``isinstance`` checks and monkeypatching see one thing.
"""

from __future__ import annotations

import warnings

__all__ = ["MOVED", "warn_moved"]

#: Old module path -> the module that holds its names now.
MOVED = {
    "translator.accumulate": "translator.streams.accumulate",
    "translator.chat_to_responses": "translator.streams.chat_to_responses",
    "translator.dask_migrate": "translator.migrate.dask",
    "translator.objects": "translator.convert.objects",
    "translator.pytest_plugin": "translator.testing.pytest_plugin",
    "translator.requests": "translator.convert.requests",
    "translator.responses_to_chat": "translator.streams.responses_to_chat",
    "translator.snapshot": "translator.testing.snapshot",
    "translator.transcripts": "translator.convert.transcripts",
    "translator.validate": "translator.testing.validate",
}


def warn_moved(old: str) -> None:
    """Warn that module ``old`` is an alias kept for one release."""
    warnings.warn(
        f"{old} is deprecated: import from {MOVED[old]} (or from translator itself);"
        " the old path will be removed in the next release",
        DeprecationWarning,
        stacklevel=3,
    )
