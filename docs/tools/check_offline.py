"""Fail if a built HTML site loads anything from the network.

Usage: ``python docs/tools/check_offline.py docs/_build/html``

Checks every ``.html`` file for ``<script src>``, ``<link href>`` (stylesheets, fonts, icons, preloads),
``<img>``, ``<iframe>``, ``<source>``, ``<video>``, ``<audio>`` and ``<object>`` pointing to an ``http(s)://`` or
protocol-relative (``//host``) address, and every ``.css`` file for remote ``url(...)`` and ``@import``. Ordinary
links (``<a href>``) to other sites are allowed: following them is the reader's choice.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
CSS_REMOTE = re.compile(r"""(url\(\s*['"]?|@import\s+['"])\s*(https?:)?//""", re.IGNORECASE)
LOADING_ATTRIBUTES = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "object": ("data",),
    "embed": ("src",),
}


class _AssetFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.remote: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in LOADING_ATTRIBUTES.get(tag, ()) and value and REMOTE.match(value):
                self.remote.append(f"<{tag} {name}={value!r}>")


def remote_assets(site: Path) -> list[str]:
    """Every remote asset of the site, as ``file: what`` lines."""
    problems = []
    for page in sorted(site.rglob("*.html")):
        finder = _AssetFinder()
        finder.feed(page.read_text(encoding="utf-8", errors="replace"))
        problems += [f"{page.relative_to(site)}: {asset}" for asset in finder.remote]
    for sheet in sorted(site.rglob("*.css")):
        for match in CSS_REMOTE.finditer(sheet.read_text(encoding="utf-8", errors="replace")):
            problems.append(f"{sheet.relative_to(site)}: {match.group(0)}...")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: check_offline.py BUILT_HTML_DIR", file=sys.stderr)
        return 2
    site = Path(argv[0])
    if not any(site.rglob("*.html")):
        print(f"error: no .html files under {site}", file=sys.stderr)
        return 2
    problems = remote_assets(site)
    for problem in problems:
        print(f"remote asset: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"{site}: no page loads a script, stylesheet, font or image from the network")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
