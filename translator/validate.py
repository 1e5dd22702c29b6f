"""Deprecated path of :mod:`translator.testing.validate`
(kept for one release, see :mod:`translator._moved`)."""

from __future__ import annotations

from ._moved import warn_moved
from .testing.validate import *  # noqa: F403
from .testing.validate import __all__ as __all__

warn_moved(__name__)
