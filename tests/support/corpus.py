"""Where the shared corpus lives, and helpers to read it.

The corpus is third-party data that stays outside the repository: ``../shared/corpus`` next to the
checkout, or the folder named by ``TRANSLATOR_CORPUS``.  Tests that need it skip when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("TRANSLATOR_CORPUS", ROOT.parent / "shared" / "corpus"))
SEED = Path(os.environ.get("TRANSLATOR_SEED", CORPUS.parent / "seed"))

SKIP_REASON = (
    f"corpus not found at {CORPUS}: put the shared corpus there or set TRANSLATOR_CORPUS to its folder"
)


def corpus_files(sub: str, pattern: str = "*") -> list[Path]:
    """The corpus files under ``sub`` (sorted), or [] when the corpus is absent."""
    folder = CORPUS / sub
    return sorted(folder.glob(pattern)) if folder.is_dir() else []


def corpus_params(sub: str, pattern: str = "*") -> list[Any]:
    """pytest params for every file in ``sub``; one skipped param when the corpus is absent."""
    files = corpus_files(sub, pattern)
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=SKIP_REASON), id="no-corpus")]
    return [pytest.param(path, id=path.stem) for path in files]


def read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


#: The request bodies the real Codex CLI sent (``shared/codex``), next to the corpus.
CODEX = Path(os.environ.get("TRANSLATOR_CODEX", CORPUS.parent / "codex"))


def codex_params() -> list[Any]:
    """pytest params for every captured Codex request body; one skipped param when they are absent."""
    files = sorted(CODEX.glob("request_*.json")) if CODEX.is_dir() else []
    if not files:
        reason = f"Codex bodies not found at {CODEX}: put shared/codex there or set TRANSLATOR_CODEX"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-codex")]
    return [pytest.param(path, id=path.stem) for path in files]
