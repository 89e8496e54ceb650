"""Markdown a fork carries: the service's README as docs/service.md, and no dead links."""

from __future__ import annotations

import re
from pathlib import Path

#: Sections of a service's README that only make sense inside the upstream repository (running
#: it from services/<name>/ beside shared/, forking or copying it out): the fork's README replaces
#: them.
MONOREPO_SECTIONS = re.compile(r"^(run it alone|copy it|copy one service|fork it)", re.IGNORECASE)
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def standalone(text: str) -> str:
    """``text`` without its monorepo-only sections, with headings one level down (the file
    becomes docs/service.md, under the fork's own README)."""
    kept: list[str] = []
    skipping_level = 0
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            if skipping_level and level > skipping_level:
                continue
            skipping_level = level if MONOREPO_SECTIONS.match(heading.group(2)) else 0
        if not skipping_level:
            kept.append(line)
    return "\n".join(kept).rstrip() + "\n"


def unlink_missing(root: Path) -> None:
    """In every Markdown file under ``root``: a relative link to a file the project does not
    have keeps its text and loses its link (upstream's docs stay upstream)."""
    for path in root.rglob("*.md"):
        text = path.read_text()

        def keep_live(match: re.Match[str], folder: Path = path.parent) -> str:
            target = match.group(2).split("#", 1)[0]
            if not target or re.match(r"^[a-z]+:", target) or (folder / target).exists():
                return match.group(0)
            return match.group(1)

        new = _LINK.sub(keep_live, text)
        if new != text:
            path.write_text(new)
