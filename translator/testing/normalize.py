"""Rewrite the volatile fields of streams and objects so two recordings of the same behaviour compare equal.

What changes (every rule is a module-level default the caller can replace):

* Ids (values of :data:`ID_KEYS` at any depth: ``id``, ``item_id``, ``call_id``, ``tool_call_id``, ...)
  become ``<prefix><sep><n>``: the prefix and separator come from the original (``resp_``, ``msg_``,
  ``fc_``, ``call_``, ``chatcmpl-``; ``id_`` when there is none) and ``n`` counts per prefix in order of
  first appearance.  With ``rename_ids="synthesized"`` only the ids this library made up
  (:func:`translator.ids.is_synthesized`: :func:`~translator.ids.random_id`'s marked ids) are renamed
  and the ids a provider gave are kept, so a golden file still catches a lost upstream ``call_id``.
  The same original always gets the same placeholder, wherever it occurs (the ``response`` inside
  created/completed, ``item.id`` and every ``item_id``; a Chat ``tool_calls[].id`` and the Responses
  ``call_id`` it became).  ``""`` and ``None`` are kept: they are behaviour.
* Timestamps (:data:`TIMESTAMP_KEYS`) that are numbers become ``0``.
* ``obfuscation`` (random padding) is removed; so is every key named in ``drop``.
* Ciphertext (:data:`OPAQUE_KEYS`: ``encrypted_content``, ``fingerprint``) becomes ``"<opaque>"``.
* ``sequence_number`` of the top-level stream items is renumbered from 0.

The result is deterministic and idempotent: ``normalize(normalize(x)) == normalize(x)``, because the
placeholders are renamed to themselves in the same order of appearance.  Inputs are never mutated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final, Literal

from ..engine.feed import as_payload
from ..engine.sse import DONE, Done
from ..ids import is_synthesized

__all__ = [
    "ID_KEYS",
    "OPAQUE",
    "OPAQUE_KEYS",
    "REMOVED_KEYS",
    "TIMESTAMP_KEYS",
    "Normalizer",
    "RenameIds",
    "normalize",
    "normalize_stream",
]

ID_KEYS: Final = frozenset(
    {"id", "item_id", "call_id", "tool_call_id", "response_id", "previous_response_id", "approval_request_id"}
)
TIMESTAMP_KEYS: Final = frozenset({"created", "created_at", "completed_at", "expires_at"})
REMOVED_KEYS: Final = frozenset({"obfuscation"})
OPAQUE_KEYS: Final = frozenset({"encrypted_content", "fingerprint"})
OPAQUE: Final = "<opaque>"

#: Which ids a :class:`Normalizer` renames: every one, or only those :func:`is_synthesized` recognizes.
RenameIds = Literal["all", "synthesized"]

_PREFIX = re.compile(r"([A-Za-z]+)([_-])")  # letters only: a UUID's hex head is not a prefix


class Normalizer:
    """Normalize the items of one stream (or several related objects) with one shared id mapping.

    Call it once per item, in stream order: ids keep the same placeholder across calls and
    ``sequence_number`` counts up across calls.  Use a fresh ``Normalizer`` per recording.

    Args:
        drop: extra key names to remove at any depth (e.g. ``("system_fingerprint",)``).
        rename_ids: ``"all"`` (compare two recordings) or ``"synthesized"`` (keep provider-given ids;
            what golden files of our own output need).
        id_keys, timestamp_keys, opaque_keys: replace the default key sets.
    """

    def __init__(
        self,
        *,
        drop: Iterable[str] = (),
        rename_ids: RenameIds = "all",
        id_keys: Iterable[str] = ID_KEYS,
        timestamp_keys: Iterable[str] = TIMESTAMP_KEYS,
        opaque_keys: Iterable[str] = OPAQUE_KEYS,
    ) -> None:
        if rename_ids not in ("all", "synthesized"):
            raise ValueError(f"rename_ids must be 'all' or 'synthesized', not {rename_ids!r}")
        self._removed = REMOVED_KEYS | frozenset(drop)
        self._only_synthesized = rename_ids == "synthesized"
        self._id_keys = frozenset(id_keys)
        self._timestamp_keys = frozenset(timestamp_keys)
        self._opaque_keys = frozenset(opaque_keys)
        self._ids: dict[str, str] = {}
        self._counters: dict[str, int] = {}
        self._sequence = 0

    def __call__(self, item: Any) -> Any:
        """One normalized stream item: a dict, ``DONE`` (unchanged), or an SDK object (dumped first)."""
        if item is DONE or isinstance(item, Done):
            return DONE
        if not isinstance(item, (dict, list)):
            item = as_payload(item, self._sequence)
        out = self._value(item)
        if isinstance(out, dict) and "sequence_number" in out:
            out["sequence_number"] = self._sequence
            self._sequence += 1
        return out

    def rename(self, original: str) -> str:
        """The placeholder for one id (assigned on first sight)."""
        placeholder = self._ids.get(original)
        if placeholder is None:
            match = _PREFIX.match(original)
            prefix, sep = (match.group(1), match.group(2)) if match else ("id", "_")
            number = self._counters.get(prefix + sep, 0) + 1
            self._counters[prefix + sep] = number
            placeholder = self._ids[original] = f"{prefix}{sep}{number}"
        return placeholder

    def _value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self._field(key, item) for key, item in value.items() if key not in self._removed}
        if isinstance(value, list):
            return [self._value(item) for item in value]
        return value

    def _field(self, key: str, value: Any) -> Any:
        if key in self._id_keys and isinstance(value, str) and value:
            if self._only_synthesized and not is_synthesized(value):
                return value
            return self.rename(value)
        if key in self._timestamp_keys and isinstance(value, (int, float)) and not isinstance(value, bool):
            return 0
        if key in self._opaque_keys and isinstance(value, str) and value:
            return OPAQUE
        return self._value(value)


def normalize(obj: Any, *, drop: Iterable[str] = (), rename_ids: RenameIds = "all") -> Any:
    """One object (a chunk, an event, a ``ChatCompletion``/``Response`` body) with volatile fields rewritten.

    A list is treated as one value (ids shared across it, ``sequence_number`` untouched below the
    top level); use :func:`normalize_stream` for a stream.
    """
    return Normalizer(drop=drop, rename_ids=rename_ids)(obj)


def normalize_stream(
    items: Iterable[Any], *, drop: Iterable[str] = (), rename_ids: RenameIds = "all"
) -> list[Any]:
    """Every item of a stream normalized with one shared mapping; ``sequence_number`` renumbered from 0."""
    normalizer = Normalizer(drop=drop, rename_ids=rename_ids)
    return [normalizer(item) for item in items]
