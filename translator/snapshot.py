"""Golden ``.sse`` files for syrupy: streams stored as readable server-sent events, normalized first.

``format_sse(items)`` writes one frame per item: Responses events (dicts with a ``type``) as
``event: <type>\\ndata: <json>\\n\\n``, Chat chunks (and bare ``{"error": ...}`` chunks) as
``data: <json>\\n\\n``, ``DONE`` as ``data: [DONE]\\n\\n``.  JSON is orjson's compact form with keys
in the order given, one line per frame, so a diff shows one changed event per line.  Before writing,
:func:`translator.normalize.normalize_stream` renames ids and zeroes timestamps, so a golden file
compares equal across runs and recordings.

``SSESnapshotExtension`` stores one file per assertion at
``<rootdir>/<translator_golden_dir>/<test module>/<test name>.sse`` (ini option, default
``golden``).  Use it through the ``sse_snapshot`` fixture of the pytest plugin.

This module needs syrupy (a test dependency); nothing else in ``translator`` imports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from ._feed import as_payload
from .normalize import normalize_stream
from .sse import DONE, DONE_FRAME, StreamDecoder

try:
    from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode
except ImportError as exc:  # pragma: no cover - exercised only without the dev dependency
    raise ImportError("translator.snapshot needs syrupy: pip install syrupy") from exc

if TYPE_CHECKING:
    import pytest
    from syrupy.location import PyTestLocation
    from syrupy.types import PropertyFilter, PropertyMatcher, SerializableData, SerializedData

__all__ = ["GOLDEN_DIR_INI", "SSESnapshotExtension", "format_sse", "golden_root"]

GOLDEN_DIR_INI = "translator_golden_dir"
_DONE_TEXT = DONE_FRAME.decode()


def _items(data: Any) -> list[Any]:
    """The stream items in ``data``: raw SSE/JSONL (bytes or str), one dict, or an iterable of items."""
    if isinstance(data, (bytes, bytearray, memoryview, str)):
        raw = data.encode() if isinstance(data, str) else bytes(data)
        decoder = StreamDecoder()
        return [*decoder.feed(raw), *decoder.close()]
    if isinstance(data, dict):
        return [data]
    if isinstance(data, Iterable):
        return [item if item is DONE else as_payload(item, index) for index, item in enumerate(data)]
    raise TypeError(f"cannot write {type(data).__name__} as SSE: expected items, a dict, bytes or str")


def _frame(item: Any) -> str:
    if item is DONE:
        return _DONE_TEXT
    body = orjson.dumps(item).decode()
    kind = item.get("type")
    if isinstance(kind, str) and kind:
        name = kind.replace("\r", "").replace("\n", "")
        return f"event: {name}\ndata: {body}\n\n"
    return f"data: {body}\n\n"


def format_sse(data: Any, *, normalize: bool = True, drop: Iterable[str] = ()) -> str:
    """Readable SSE text for a stream (items, one dict, or raw SSE/JSONL bytes), normalized unless told not.

    Raises:
        TypeError: ``data`` is not a stream.
        SSEError: raw bytes that are not an event stream.
    """
    items = _items(data)
    if normalize:
        items = normalize_stream(items, drop=drop)
    return "".join(_frame(item) for item in items)


def golden_root(config: pytest.Config) -> Path:
    """``<rootdir>/<translator_golden_dir>`` (default ``golden``); the ini value may be absolute."""
    try:
        value = str(config.getini(GOLDEN_DIR_INI))
    except ValueError:  # the option is unknown: the translator plugin is disabled (-p no:translator)
        value = ""
    return config.rootpath / (value or "golden")


class SSESnapshotExtension(SingleFileSnapshotExtension):
    """syrupy extension: one readable ``.sse`` golden file per assertion, normalized before comparing.

    Subclass to change the defaults: ``normalize = False`` stores the stream verbatim, ``drop`` lists
    extra keys to remove (``("system_fingerprint",)``).  ``exclude``/``include``/``matcher`` of
    syrupy are not supported: use ``drop``.
    """

    file_extension = "sse"
    _write_mode = WriteMode.TEXT
    normalize: ClassVar[bool] = True
    drop: ClassVar[tuple[str, ...]] = ()

    def serialize(
        self,
        data: SerializableData,
        *,
        exclude: PropertyFilter | None = None,
        include: PropertyFilter | None = None,
        matcher: PropertyMatcher | None = None,
    ) -> SerializedData:
        return format_sse(data, normalize=self.normalize, drop=self.drop)

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(golden_root(test_location.item.config) / test_location.basename)

    @classmethod
    def discovery_dirname(cls, *, test_location: PyTestLocation) -> str:
        # Scan only this module's folder: sibling folders under golden/ belong to other tests or tools.
        return cls.dirname(test_location=test_location)
