"""What happens to a value that has no equivalent in the target API: raise, warn, or collect.

A conversion meets values the other API cannot express (``seed`` for Responses, a hosted tool for a
Chat upstream...).  :class:`Policy` decides, at the one place every converter calls
(:meth:`Policy.drop`):

* strict (``lenient=False``): raise :class:`UnsupportedParameterError` naming the value's path, or,
  with a ``problems`` list, append it there and go on, so that the caller raises once for every
  problem of the input (:func:`raise_problems`);
* lenient, no collector: drop it and emit a :class:`DroppedParameterWarning` (library use);
* lenient with a collector list: drop it and append a :class:`Dropped` record.  A server converting
  concurrent requests uses this form: the global ``warnings`` machinery is process-wide, a list is
  per request.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import ConversionError, UnsupportedParameterError

__all__ = [
    "Dropped",
    "DroppedParameterWarning",
    "Policy",
    "ToolPairingWarning",
    "problems_raised",
    "raise_problems",
]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class DroppedParameterWarning(UserWarning):
    """A field with no equivalent in the target API was dropped (only in ``lenient=True`` mode)."""


class ToolPairingWarning(UserWarning):
    """A tool call with no answer, or an answer to no earlier call (lenient mode; strict rejects it).

    Nothing is dropped: the history is converted as it is, but providers reject such a history.
    """


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
    ``problems``: when given, strict problems are appended to this list instead of raised; the
    caller raises them all at the end with :func:`raise_problems`.
    """

    lenient: bool
    collected: list[Dropped] | None = None
    problems: list[ConversionError] | None = None

    def drop(self, path: str, reason: str) -> None:
        """Raise :class:`UnsupportedParameterError`, or record the drop (the caller then leaves it out)."""
        if not self.lenient:
            self.fail(UnsupportedParameterError(reason, path=path))
            return
        if self.collected is not None:
            self.collected.append(Dropped(path, reason))
            return
        warnings.warn(
            f"{path}: {reason} (dropped)", DroppedParameterWarning, stacklevel=_outside_stacklevel()
        )

    def fail(self, problem: ConversionError) -> None:
        """A strict problem: raised, or appended to ``problems`` when the caller collects them."""
        if self.problems is None:
            raise problem
        self.problems.append(problem)

    def flag(self, path: str, reason: str) -> None:
        """A history providers reject (tool pairing): strict, a problem; lenient, a ToolPairingWarning."""
        if not self.lenient:
            self.fail(ConversionError(reason, path=path))
            return
        warnings.warn(f"{path}: {reason}", ToolPairingWarning, stacklevel=_outside_stacklevel())


def raise_problems(problems: list[ConversionError], last: ConversionError | None = None) -> None:
    """Raise every problem at once (nothing when there is none).

    One problem is raised as it is; several as one error of the first one's path whose message joins
    them all and whose ``problems`` lists them: an :class:`UnsupportedParameterError` when every one
    is, else a :class:`ConversionError`.  ``last`` is an error that stopped the conversion: it ends
    the list.
    """
    found = [*problems, last] if last is not None else list(problems)
    if not found:
        return
    if len(found) == 1:
        raise found[0]
    kind = (
        UnsupportedParameterError
        if all(isinstance(p, UnsupportedParameterError) for p in found)
        else ConversionError
    )
    error = kind(f"{len(found)} problems: " + "; ".join(str(p) for p in found))
    error.path = found[0].path
    error.problems = tuple(found)
    raise error


@contextmanager
def problems_raised(problems: list[ConversionError] | None) -> Iterator[None]:
    """Around a strict conversion that collects its own ``problems``: at the end, or when a
    :class:`ConversionError` stops it, every problem is raised at once (:func:`raise_problems`).
    ``None`` (lenient, or the caller collects and raises): nothing is added."""
    try:
        yield
    except ConversionError as exc:
        if problems:
            raise_problems(problems, exc)
        raise
    if problems:
        raise_problems(problems)


def _outside_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside this package."""
    level = 2  # 1 would be Policy.drop itself
    frame = sys._getframe(2)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level
