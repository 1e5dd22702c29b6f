"""The README and the documentation pages: relative links that resolve, and a README that stays short.

Every relative link in ``README.md`` and ``docs/**/*.md`` must name a file that exists; a link with an
``#anchor`` into a Markdown page must name one of that page's headings.  Anchors are checked against both
slug rules in use: Python-Markdown's (the mkdocs site) and GitHub's (the same pages read on GitHub), so a
link works in both places.  (``make docs`` builds the site with ``--strict``, which checks the links
between pages too; this test also covers the README, which is not part of the site, and runs in
``make test``.)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted([ROOT / "README.md", *DOCS.rglob("*.md")])
README_MAX_LINES = 250

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[(?:[^\]\n]|\][^(\n])*?\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def prose(text: str) -> str:
    """``text`` without fenced code blocks and code spans (links are not read there)."""
    return _CODE.sub("", _FENCE.sub("", text))


def links(path: Path) -> list[str]:
    return _LINK.findall(prose(path.read_text(encoding="utf-8")))


def heading_texts(path: Path) -> list[str]:
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    # what a heading reads as: code spans keep their text, links their label
    plain = [re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", h.group(2)) for h in _HEADING.finditer(text)]
    return [h.replace("`", "") for h in plain]


def slug_markdown(text: str) -> str:
    """Python-Markdown's ``toc`` slug (what mkdocs uses)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def slug_github(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation but ``-`` and ``_`` removed, each space a ``-``."""
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(path: Path, slug: Callable[[str], str]) -> set[str]:
    """The anchors a page's headings get under one slug rule (repeats numbered, as both renderers do)."""
    found: set[str] = set()
    for text in heading_texts(path):
        base = slug(text)
        name, n = base, 0
        while name in found:
            n += 1
            name = f"{base}_{n}" if slug is slug_markdown else f"{base}-{n}"
        found.add(name)
    return found


def relative_links() -> list[tuple[Path, str]]:
    return [
        (page, link)
        for page in PAGES
        for link in links(page)
        if not re.match(r"[a-z][a-z0-9+.-]*:", link)  # http:, https:, mailto:...
    ]


def test_the_pages_are_found() -> None:
    names = {page.relative_to(ROOT).as_posix() for page in PAGES}
    assert {"README.md", "docs/index.md", "docs/mapping.md", "docs/gateway/configuration.md"} <= names
    assert len(relative_links()) > 50


@pytest.mark.parametrize(
    ("page", "link"),
    relative_links(),
    ids=lambda value: value.relative_to(ROOT).as_posix() if isinstance(value, Path) else value,
)
def test_relative_link_resolves(page: Path, link: str) -> None:
    target, _, anchor = link.partition("#")
    where = page.relative_to(ROOT).as_posix()
    file = (page.parent / target).resolve() if target else page
    assert file.exists(), f"{where}: link {link!r} names a missing file"
    assert not target.startswith("/"), f"{where}: link {link!r} is absolute; use a relative one"
    if page.is_relative_to(DOCS):
        assert file.is_relative_to(DOCS), f"{where}: {link!r} leaves docs/ (the site cannot follow it)"
    if anchor:
        assert file.suffix == ".md", f"{where}: {link!r} has an anchor into a file that is not Markdown"
        both = anchors(file, slug_markdown) & anchors(file, slug_github)
        named = target or page.name
        assert anchor in both, f"{where}: no heading of {named} gives #{anchor} on GitHub and in mkdocs"


def test_every_docs_page_is_in_the_site_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r":\s+([\w/-]+\.md)\s*$", config, flags=re.MULTILINE))
    pages = {page.relative_to(DOCS).as_posix() for page in DOCS.rglob("*.md")}
    assert pages == listed


def test_the_readme_stays_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines (at most {README_MAX_LINES}): use docs/"
