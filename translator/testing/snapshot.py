"""Golden ``.sse`` files for syrupy: streams stored as readable server-sent events, normalized first.

``format_sse(items)`` writes one frame per item: Responses events (dicts with a ``type``) as
``event: <type>\\ndata: <json>\\n\\n``, Chat chunks (and bare ``{"error": ...}`` chunks) as
``data: <json>\\n\\n``, ``DONE`` as ``data: [DONE]\\n\\n``.  JSON is orjson's compact form with keys
in the order given, one line per frame, so a diff shows one changed event per line; ``pretty=True``
spreads each event's JSON over ``data:`` lines, indented by two (still valid SSE: the lines of one
``data`` field are joined with newlines), so a long ``response.completed`` diffs line by line.
Before writing, :func:`translator.testing.normalize.normalize_stream` zeroes timestamps and renames the ids
this library synthesized (``rename_ids="synthesized"``: ids a provider gave, such as ``call_abc``,
stay as they are, so a golden catches a lost upstream id), so a golden file compares equal across runs.

``SSESnapshotExtension`` stores one file per assertion at
``<rootdir>/<translator_golden_dir>/<test module>/<test name>.sse`` (ini option, default
``golden``).  A test marked ``@pytest.mark.golden("<folder>")`` names its folder instead, and each of
its goldens is named after the test's parameter id alone: ``golden/<folder>/<id>.sse`` (a corpus
test's goldens are then ``golden/chat_to_responses/<recording>.sse``).  Such a folder belongs to the
tests of one module.  Use the extension through the ``sse_snapshot`` fixture of the pytest plugin.
Two things differ from syrupy's defaults:

* A failed comparison lists the JSON paths that changed, event by event, instead of a diff of two
  1,000-character lines.
* ``--snapshot-update`` deletes (and a plain run reports) only goldens that no test owns any more, and
  only in a test module that was collected whole: ``pytest --snapshot-update tests/x.py::one_test``,
  ``-k``, ``--deselect``, ``--lf`` or a test that fails before its assertion never cost another
  golden (see :mod:`translator.testing.pytest_plugin`).  syrupy cannot tie a golden named by the
  marker to its test (its report matches file names against test names), so the plugin judges those
  folders itself (:func:`unowned_named_goldens`), by the same rules, and a skipped test keeps the
  goldens of its whole folder (its parameters may stand for cases that exist).

This module needs syrupy (a test dependency); nothing else in ``translator`` imports it.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..engine.feed import as_payload
from ..engine.jsonio import dump_json
from ..engine.sse import DONE, DONE_FRAME, StreamDecoder
from ..errors import SSEError
from .normalize import RenameIds, normalize_stream
from .selection import GOLDEN_DIR_INI, selection_of

try:
    from syrupy.data import SnapshotCollections
    from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode
    from syrupy.location import PyTestLocation
except ImportError as exc:  # pragma: no cover - exercised only without the dev dependency
    raise ImportError("translator.testing.snapshot needs syrupy: pip install syrupy") from exc

if TYPE_CHECKING:
    import pytest
    from syrupy.types import (
        PropertyFilter,
        PropertyMatcher,
        SerializableData,
        SerializedData,
        SnapshotIndex,
    )

__all__ = [
    "GOLDEN_DIR_INI",
    "GOLDEN_MARKER",
    "SSESnapshotExtension",
    "format_sse",
    "golden_root",
    "json_changes",
    "named_folder",
    "named_stem",
    "unowned_named_goldens",
]

#: ``@pytest.mark.golden("<folder>")``: the test's goldens are ``<golden dir>/<folder>/<parameter id>.sse``.
GOLDEN_MARKER = "golden"
_UNSAFE_IN_NAMES = frozenset('\\/?*:|"<>')

_DONE_TEXT = DONE_FRAME.decode()
#: At most this many changed paths are listed in a failure; the rest are counted.
MAX_DIFF_LINES = 60
_MAX_VALUE = 100


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


def _frame(item: Any, pretty: bool) -> str:
    if item is DONE:
        return _DONE_TEXT
    if pretty:
        body = dump_json(item, indent=True).decode().replace("\n", "\ndata: ")
    else:
        body = dump_json(item).decode()
    kind = item.get("type")
    if isinstance(kind, str) and kind:
        name = kind.replace("\r", "").replace("\n", "")
        return f"event: {name}\ndata: {body}\n\n"
    return f"data: {body}\n\n"


def format_sse(
    data: Any,
    *,
    normalize: bool = True,
    drop: Iterable[str] = (),
    rename_ids: RenameIds = "synthesized",
    pretty: bool = False,
) -> str:
    """Readable SSE text for a stream (items, one dict, or raw SSE/JSONL bytes), normalized unless told not.

    Args:
        data: the stream.
        normalize: zero timestamps, rename ids, renumber ``sequence_number``
            (:mod:`translator.testing.normalize`).
        drop: extra keys to remove at any depth.
        rename_ids: ``"synthesized"`` renames only the ids this library made up; ``"all"`` every id
            (to compare two recordings of a provider).
        pretty: indented JSON over several ``data:`` lines instead of one compact line per event.

    Raises:
        TypeError: ``data`` is not a stream.
        SSEError: raw bytes that are not an event stream.
    """
    items = _items(data)
    if normalize:
        items = normalize_stream(items, drop=drop, rename_ids=rename_ids)
    return "".join(_frame(item, pretty) for item in items)


def named_folder(item: pytest.Item) -> str | None:
    """The golden folder ``item``'s ``golden`` marker names; None when it has none (the default layout).

    Raises:
        ValueError: the marker does not name one folder (``golden("a")`` or ``golden(folder="a")``).
    """
    marker = item.get_closest_marker(GOLDEN_MARKER)
    if marker is None:
        return None
    folder = marker.args[0] if marker.args else marker.kwargs.get("folder")
    if not isinstance(folder, str) or folder in ("", ".", "..") or not _UNSAFE_IN_NAMES.isdisjoint(folder):
        raise ValueError(f"{item.nodeid}: @pytest.mark.{GOLDEN_MARKER} takes one folder name, got {folder!r}")
    return folder


def named_stem(item: pytest.Item) -> str:
    """The file name (without ``.sse``) of a marked test's golden: its parameter id, else its name.

    Raises:
        ValueError: the id holds a character a file name cannot (``/``, ``:``, a control character).
    """
    callspec = getattr(item, "callspec", None)
    stem = str(callspec.id) if callspec is not None else item.name
    if not _UNSAFE_IN_NAMES.isdisjoint(stem) or not stem.isprintable():
        raise ValueError(f"{item.nodeid}: the id {stem!r} cannot name a golden file")
    return stem


def golden_root(config: pytest.Config) -> Path:
    """``<rootdir>/<translator_golden_dir>`` (default ``golden``); the ini value may be absolute."""
    try:
        value = str(config.getini(GOLDEN_DIR_INI))
    except ValueError:  # the option is unknown: the translator plugin is disabled (-p no:translator)
        value = ""
    return config.rootpath / (value or "golden")


# -- failure messages: the JSON paths that changed ------------------------------------------------------


def _short(value: Any) -> str:
    text = dump_json(value).decode()
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."


def _key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def json_changes(old: Any, new: Any, path: str = "") -> Iterator[str]:
    """One line per changed leaf: ``path: old -> new``, ``- path: old`` (removed), ``+ path: new`` (added)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in old.items():
            if key not in new:
                yield f"- {_key_path(path, key)}: {_short(value)}"
            elif value != new[key]:
                yield from json_changes(value, new[key], _key_path(path, key))
        for key, value in new.items():
            if key not in old:
                yield f"+ {_key_path(path, key)}: {_short(value)}"
    elif isinstance(old, list) and isinstance(new, list):
        for index, (a, b) in enumerate(zip(old, new, strict=False)):
            if a != b:
                yield from json_changes(a, b, f"{path}[{index}]")
        for index in range(len(new), len(old)):
            yield f"- {path}[{index}]: {_short(old[index])}"
        for index in range(len(old), len(new)):
            yield f"+ {path}[{index}]: {_short(new[index])}"
    elif old != new or type(old) is not type(new):
        yield f"{path or '(the value)'}: {_short(old)} -> {_short(new)}"


def _kind(item: Any) -> str:
    if item is DONE:
        return "[DONE]"
    kind = item.get("type") if isinstance(item, dict) else None
    return kind if isinstance(kind, str) else ""


def _label(a: int | None, b: int | None, item: Any) -> str:
    kind = _kind(item)
    number = f"{a}" if b is None or a == b else f"{b}" if a is None else f"{a} -> {b}"
    return f"event {number} ({kind})" if kind else f"event {number}"


def _stream_changes(golden: list[Any], received: list[Any]) -> Iterator[str]:
    """The changes from the golden stream to the received one.

    Events are aligned on their types first (as a text diff aligns lines), so one inserted event shows
    as one insertion, then each aligned pair that differs lists its changed JSON paths.
    """
    matcher = difflib.SequenceMatcher(
        a=[_kind(item) for item in golden], b=[_kind(item) for item in received], autojunk=False
    )
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        paired = a1 - a0 if tag == "equal" else min(a1 - a0, b1 - b0) if tag == "replace" else 0
        for offset in range(paired):
            old, new = golden[a0 + offset], received[b0 + offset]
            if old == new:
                continue
            yield f"{_label(a0 + offset, b0 + offset, new)}:"
            if old is DONE or new is DONE:
                yield f"  {_short(_kind(old))} -> {_short(_kind(new))}"
            else:
                yield from (f"  {line}" for line in json_changes(old, new))
        for index in range(a0 + paired, a1):
            yield f"- {_label(index, None, golden[index])} only in the golden"
        for index in range(b0 + paired, b1):
            yield f"+ {_label(None, index, received[index])} only in the received stream"


def _decoded(text: Any) -> list[Any]:
    decoder = StreamDecoder()
    raw = text.encode() if isinstance(text, str) else bytes(text)
    return [*decoder.feed(raw), *decoder.close()]


# -- the syrupy extension ---------------------------------------------------------------------------------


class SSESnapshotExtension(SingleFileSnapshotExtension):
    """syrupy extension: one readable ``.sse`` golden file per assertion, normalized before comparing.

    Subclass to change the defaults: ``normalize = False`` stores the stream verbatim, ``drop`` lists
    extra keys to remove (``("system_fingerprint",)``), ``rename_ids = "all"`` renames provider ids
    too (goldens of recordings rather than of our output), ``pretty = True`` writes indented JSON.
    ``exclude``/``include``/``matcher`` of syrupy are not supported: use ``drop``.
    """

    file_extension = "sse"
    _write_mode = WriteMode.TEXT
    normalize: ClassVar[bool] = True
    drop: ClassVar[tuple[str, ...]] = ()
    rename_ids: ClassVar[RenameIds] = "synthesized"
    pretty: ClassVar[bool] = False

    def serialize(
        self,
        data: SerializableData,
        *,
        exclude: PropertyFilter | None = None,
        include: PropertyFilter | None = None,
        matcher: PropertyMatcher | None = None,
    ) -> SerializedData:
        return format_sse(
            data, normalize=self.normalize, drop=self.drop, rename_ids=self.rename_ids, pretty=self.pretty
        )

    def diff_lines(self, serialized_data: SerializedData, snapshot_data: SerializedData) -> Iterator[str]:
        """The JSON paths that changed, per event (``-`` golden, ``+`` received); text diff as a fallback."""
        try:
            golden, received = _decoded(snapshot_data), _decoded(serialized_data)
        except SSEError:
            yield from super().diff_lines(serialized_data, snapshot_data)
            return
        lines = list(_stream_changes(golden, received))
        if not lines:  # same events, different bytes (layout, whitespace): show the text
            yield from super().diff_lines(serialized_data, snapshot_data)
            return
        yield "changes from the golden (-) to the received stream (+):"
        yield from lines[:MAX_DIFF_LINES]
        if len(lines) > MAX_DIFF_LINES:
            yield f"... and {len(lines) - MAX_DIFF_LINES} more lines"

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        folder = named_folder(test_location.item) or test_location.basename
        return str(golden_root(test_location.item.config) / folder)

    @classmethod
    def get_snapshot_name(cls, *, test_location: PyTestLocation, index: SnapshotIndex = 0) -> str:
        """syrupy's name (``<test name>[<id>]``), or the parameter id alone in a marker-named folder."""
        if named_folder(test_location.item) is None:
            return super().get_snapshot_name(test_location=test_location, index=index)
        suffix = f"[{index}]" if isinstance(index, str) else f".{index}" if index else ""
        return named_stem(test_location.item) + suffix

    @classmethod
    def write_snapshot(
        cls,
        *,
        snapshot_location: str,
        snapshots: list[tuple[SerializedData, PyTestLocation, SnapshotIndex]],
        **options: Any,
    ) -> None:
        """syrupy's, without its warning that it cannot relate a marker-named golden to its test.

        syrupy ties a file to a test by their names; the plugin judges marker-named folders itself.
        """
        if not any(location.item.get_closest_marker(GOLDEN_MARKER) for _, location, _ in snapshots):
            super().write_snapshot(snapshot_location=snapshot_location, snapshots=snapshots, **options)
            return
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"\s*Can not relate snapshot", category=UserWarning)
            super().write_snapshot(snapshot_location=snapshot_location, snapshots=snapshots, **options)

    @classmethod
    def discovery_dirname(cls, *, test_location: PyTestLocation) -> str:
        # Scan only this module's folder: sibling folders under golden/ belong to other tests or tools.
        try:
            return cls.dirname(test_location=test_location)
        except ValueError:  # a misused golden marker: its test failed saying so, the report goes on
            return str(golden_root(test_location.item.config) / test_location.basename)

    def discover_snapshots(
        self, *, test_location: PyTestLocation, ignore_extensions: list[str] | None = None
    ) -> SnapshotCollections:
        """Only goldens no test owns, in a folder whose test module was collected whole.

        syrupy reports (and with ``--snapshot-update`` deletes) discovered goldens no assertion used.
        Offering only those that are certainly obsolete keeps a partial run from deleting the goldens
        of tests it did not run or that stopped before their assertion.
        """
        obsolete = SnapshotCollections()
        if test_location.item.get_closest_marker(GOLDEN_MARKER) is not None:
            return obsolete  # judged by unowned_named_goldens (syrupy's report would not tie them)
        discovered = super().discover_snapshots(
            test_location=test_location, ignore_extensions=ignore_extensions
        )
        selection = selection_of(test_location.item.config)
        module = Path(test_location.filepath).resolve()
        if selection is None or not selection.collected_whole(module):
            return obsolete
        folder = Path(self.dirname(test_location=test_location)).resolve()
        owned = self._owned_stems(selection)
        for collection in discovered:
            location = Path(collection.location).resolve()
            if location.parent == folder and not _owned(location, owned):
                obsolete.add(collection)
        return obsolete

    def _owned_stems(self, selection: Any) -> set[str]:
        """``<folder>/<snapshot name>`` of the first assertion of every collected test, for this extension."""
        key = type(self)
        cached: set[str] | None = selection.owned.get(key)
        if cached is None:
            cached = set()
            for item in selection.items:
                try:
                    location = PyTestLocation(item)
                    folder = Path(self.dirname(test_location=location)).resolve()
                    name = self.get_file_basename(test_location=location, index=0)
                except Exception:  # a test this extension cannot name owns none of its goldens
                    continue  # (not a Python function, or a subclass naming by callspec on a plain test)
                cached.add(str(folder / name))
            selection.owned[key] = cached
        return cached


def _owned(location: Path, owned: set[str]) -> bool:
    """Whether a golden is named after a collected test, maybe with an assertion suffix (``.1``, ``[x]``)."""
    stem = str(location.with_suffix(""))
    candidates = {stem}
    head, dot, tail = stem.rpartition(".")
    if dot and tail.isdigit():
        candidates.add(head)
    if stem.endswith("]") and "[" in stem:
        candidates.add(stem[: stem.rindex("[")])
    return not candidates.isdisjoint(owned)


def unowned_named_goldens(config: pytest.Config) -> list[Path]:
    """The goldens in folders named by the ``golden`` marker that no collected test owns.

    A folder is judged only when every test naming it was in a module collected whole and none of them
    was skipped: then a golden none of them names is certainly obsolete.
    """
    selection = selection_of(config)
    if selection is None:
        return []
    root = golden_root(config)
    owned: dict[Path, set[str]] = {}
    unsure: set[Path] = set()
    for item in selection.items:
        try:
            name = named_folder(item)
            stem = named_stem(item) if name is not None else ""
        except ValueError:  # a misused marker: that test fails at its assertion, saying why
            continue
        if name is None:
            continue
        folder = root / name
        owned.setdefault(folder, set()).add(str(folder / stem))
        if item.nodeid in selection.skipped or not selection.collected_whole(Path(item.path).resolve()):
            unsure.add(folder)
    suffix = f".{SSESnapshotExtension.file_extension}"
    return [
        path
        for folder, stems in sorted(owned.items())
        if folder not in unsure and folder.is_dir()
        for path in sorted(folder.glob(f"*{suffix}"))
        if not _owned(path, stems)
    ]
