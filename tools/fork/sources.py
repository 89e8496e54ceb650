"""What a fork is made from: the upstream files of one service and of the shared library, and
the commit they come from."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

#: Where the shared library's package lives upstream, relative to the repository root.
LIBRARY_PACKAGE = Path("shared/src/servicekit")
LIBRARY_PROJECT = Path("shared")
SERVICES = Path("services")
#: Files of a service folder that the fork writes afresh instead of copying.
REGENERATED = {"pyproject.toml", "README.md", "requirements.in", "requirements.txt"}
#: Never copied, even when a checkout without git leaves them lying around.
JUNK = {"__pycache__", "instance", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".nox"}


@dataclass(frozen=True)
class Upstream:
    """The upstream repository a fork is made from."""

    root: Path
    commit: str
    dirty: bool
    origin: str

    @classmethod
    def at(cls, root: Path) -> Upstream:
        """The repository at ``root``: its commit, whether its work tree differs, its origin."""
        commit = _git(root, "rev-parse", "HEAD") or "unknown"
        dirty = bool(_git(root, "status", "--porcelain", "--", "services", "shared"))
        origin = _git(root, "remote", "get-url", "origin") or str(root.resolve())
        return cls(root, commit, dirty, origin)

    def service_folder(self, service: str) -> Path:
        return self.root / SERVICES / service

    def services(self) -> list[str]:
        """The services a fork can be made of: every services/<name>/ with a pyproject.toml."""
        return sorted(p.parent.name for p in (self.root / SERVICES).glob("*/pyproject.toml"))

    def files(self, folder: Path) -> list[Path]:
        """The files under ``folder`` (relative to it) that git tracks, or, outside a git
        checkout, every file except caches and instance folders."""
        listed = _git(self.root, "ls-files", "-z", "--", str(folder.relative_to(self.root)))
        if listed:
            return sorted(
                Path(name).relative_to(folder.relative_to(self.root))
                for name in listed.split("\0")
                if name and (self.root / name).is_file()
            )
        return sorted(
            path.relative_to(folder)
            for path in folder.rglob("*")
            if path.is_file() and not JUNK & set(path.parts) and path.suffix != ".pyc"
        )


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()
