"""``python -m translator``: the command line (see :mod:`translator.cli`)."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
