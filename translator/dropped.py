"""What happens to a value that has no equivalent in the target API: raise, warn, or collect.

A conversion meets values the other API cannot express (``seed`` for Responses, a hosted tool for a
Chat upstream...).  :class:`Policy` decides, at the one place every converter calls
(:meth:`Policy.drop`):

* strict (``lenient=False``): raise :class:`UnsupportedParameterError` naming the value's path;
* lenient, no collector: drop it and emit a :class:`DroppedParameterWarning` (library use);
* lenient with a collector list: drop it and append a :class:`Dropped` record.  A server converting
  concurrent requests uses this form: the global ``warnings`` machinery is process-wide, a list is
  per request.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass

from .errors import UnsupportedParameterError

__all__ = ["Dropped", "DroppedParameterWarning", "Policy"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class DroppedParameterWarning(UserWarning):
    """A field with no equivalent in the target API was dropped (only in ``lenient=True`` mode)."""


@dataclass(frozen=True, slots=True)
class Dropped:
    """One value a lenient conversion left out: where it was, and why."""

    #: The value's location in the input request, e.g. ``request.tools[9]`` or ``request.include[0]``.
    path: str
    #: Why it has no place in the output, e.g. ``"tool type 'web_search' has no Chat equivalent"``.
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Policy:
    """What to do with a value that has no equivalent: raise (strict), or drop it (lenient).

    ``collected``: when given, lenient drops are appended to this list instead of warned about.
    """

    lenient: bool
    collected: list[Dropped] | None = None

    def drop(self, path: str, reason: str) -> None:
        """Raise :class:`UnsupportedParameterError`, or record the drop (the caller then leaves it out)."""
        if not self.lenient:
            raise UnsupportedParameterError(reason, path=path)
        if self.collected is not None:
            self.collected.append(Dropped(path, reason))
            return
        warnings.warn(
            f"{path}: {reason} (dropped)", DroppedParameterWarning, stacklevel=_outside_stacklevel()
        )


def _outside_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside this package."""
    level = 2  # 1 would be Policy.drop itself
    frame = sys._getframe(2)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level
