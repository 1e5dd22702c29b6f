"""Deprecated path of :mod:`translator.migrate.dask` (kept for one release, see :mod:`translator._moved`)."""

from __future__ import annotations

from ._moved import warn_moved
from .migrate.dask import *  # noqa: F403
from .migrate.dask import __all__ as __all__

warn_moved(__name__)
