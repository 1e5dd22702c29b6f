"""Deprecated path of :mod:`translator.testing.pytest_plugin`
(kept for one release, see :mod:`translator._moved`)."""

from __future__ import annotations

from ._moved import warn_moved
from .testing.pytest_plugin import *  # noqa: F403
from .testing.pytest_plugin import __all__ as __all__

warn_moved(__name__)
