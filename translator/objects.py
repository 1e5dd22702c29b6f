"""Deprecated path of :mod:`translator.convert.objects`
(kept for one release, see :mod:`translator._moved`)."""

from __future__ import annotations

from ._moved import warn_moved
from .convert.objects import *  # noqa: F403
from .convert.objects import __all__ as __all__

warn_moved(__name__)
