"""Deprecated path of :mod:`translator.streams.accumulate`
(kept for one release, see :mod:`translator._moved`)."""

from __future__ import annotations

from ._moved import warn_moved
from .streams.accumulate import *  # noqa: F403
from .streams.accumulate import __all__ as __all__

warn_moved(__name__)
