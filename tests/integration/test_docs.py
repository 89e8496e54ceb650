"""The documentation points only at things that exist.

A reader follows links and file names from the README and docs/ into the code; a renamed module
must not leave a dead link behind, and no page may send the reader to a document that is not in
the repository.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Markdown links to local files: [text](path) and [text](path#anchor), not URLs or anchors.
LINK = re.compile(r"\]\((?!https?:|mailto:|#)([^)#\s]+)(?:#[^)]*)?\)")
#: Handouts the project started from, which users never see: nothing may cite them. (Spelled in
#: pieces so that this file does not cite them either.)
FOREIGN_DOCUMENTS = ("DESIGN" + ".md", "PERF" + "-NOTES", "SECURITY" + "-NOTES")


def markdown_files() -> list[Path]:
    """Every Markdown file git tracks (READMEs, docs/, services' READMEs)."""
    listed = subprocess.run(
        ["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / name for name in listed]


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_local_link_in_the_docs_leads_to_a_file(page: Path) -> None:
    missing = [
        target
        for target in LINK.findall(page.read_text(encoding="utf-8"))
        if not (page.parent / target).exists()
    ]
    assert missing == [], f"{page.relative_to(ROOT)} links to files that do not exist"


def test_the_request_flow_page_draws_its_diagrams_in_mermaid() -> None:
    page = (ROOT / "docs" / "request-flow.md").read_text(encoding="utf-8")
    diagrams = re.findall(r"```mermaid\n(.*?)```", page, flags=re.S)
    assert len(diagrams) == 2
    assert all(d.lstrip().startswith("sequenceDiagram") for d in diagrams)


def test_no_tracked_file_cites_a_document_outside_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "grep", "-l", "-I", "-E", "|".join(re.escape(d) for d in FOREIGN_DOCUMENTS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert tracked == []
