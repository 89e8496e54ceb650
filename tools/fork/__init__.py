"""Fork one service into a standalone project: ``nox -s fork -- <service> <target>``.

The steps, each in its own module:

* sources.py: which upstream files (the service's folder, the shared library's package) and
  which commit;
* naming.py: the fork's names and the rules that rename upstream text into them;
* pyproject.py: one pyproject.toml for the service and the vendored library;
* scaffold.py: the files upstream keeps at its root (noxfile, Dockerfile, compose.yaml, README,
  CI, pre-commit), rendered from templates/ for one project;
* markdown.py: the service's README as the fork's docs/service.md, without its monorepo-only
  sections and without links that lead nowhere.

docs/forking.md explains the choices.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tools.fork import markdown, scaffold
from tools.fork.naming import (
    Names,
    Rule,
    check_package_name,
    common_rules,
    derived_suffixes,
    library_names,
    rename,
)
from tools.fork.naming import service_rules as service_only_rules
from tools.fork.pyproject import LIBRARY, fork_pyproject
from tools.fork.sources import LIBRARY_PACKAGE, LIBRARY_PROJECT, REGENERATED, Upstream
from tools.fork.tomlwriter import dumps

__all__ = ["ForkError", "fork"]


class ForkError(RuntimeError):
    """The fork cannot be written; the message says why."""


def _copy(source: Path, target: Path, rules: list[Rule]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    data = source.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:  # images, icons: as they are
        target.write_bytes(data)
    else:
        target.write_text(rename(text, rules), encoding="utf-8")
    shutil.copymode(source, target)


def fork(upstream_root: Path, service: str, target: Path, package: str) -> Path:
    """Write the standalone project of ``service`` into ``target`` (which must not exist or be
    empty) with import package ``package``; return ``target``."""
    upstream = Upstream.at(upstream_root)
    if service not in upstream.services():
        raise ForkError(f"no service {service!r}: choose one of {', '.join(upstream.services())}")
    check_package_name(package)
    if target.exists() and any(target.iterdir()):
        raise ForkError(f"{target} exists and is not empty")
    library_dir = upstream.root / LIBRARY_PACKAGE
    service_dir = upstream.service_folder(service)
    library_files = upstream.files(library_dir)
    library_texts = [
        (library_dir / path).read_text(errors="replace")
        for path in library_files
        if path.suffix == ".py"
    ]
    names = Names(
        service=service,
        package=package,
        library_names=library_names(library_texts),
        derived_suffixes=derived_suffixes(library_texts),
    )
    common = common_rules(names)
    everything = common + service_only_rules(names)

    for path in library_files:
        _copy(library_dir / path, target / LIBRARY / path, common)
    for path in upstream.files(service_dir):
        if str(path) in REGENERATED:
            continue
        destination = target / rename(str(path), everything)
        _copy(service_dir / path, destination, everything)

    pyproject = fork_pyproject(
        names, service_dir, upstream.root / LIBRARY_PROJECT, upstream.root, everything
    )
    (target / "pyproject.toml").write_text(dumps(pyproject))
    _copy(upstream.root / "requirements" / "constraints.txt", target / "constraints.txt", common)
    if (service_dir / "requirements.txt").exists():
        _copy(service_dir / "requirements.txt", target / "requirements.txt", common)

    values = scaffold.placeholders(names, upstream, common)
    for template, relative in scaffold.RENDERED.items():
        rendered = target / relative
        rendered.parent.mkdir(parents=True, exist_ok=True)
        rendered.write_text(scaffold.render(template, values))
    (target / "FORKED_FROM").write_text(scaffold.forked_from(names, upstream))
    readme = service_dir / "README.md"
    if readme.exists():
        text = markdown.standalone(rename(readme.read_text(), everything))
        (target / "docs" / "service.md").write_text(text)
    markdown.unlink_missing(target)
    _tidy(target)
    return target


def _tidy(target: Path) -> None:
    """Sort imports and reformat where renaming moved them (a name that sorts differently, a
    longer line): ruff, when installed (the fork session installs it)."""
    ruff = shutil.which("ruff")
    if ruff is None:
        return
    for command in (["check", "--fix-only", "--quiet", "--select", "I"], ["format", "--quiet"]):
        subprocess.run([ruff, *command, "."], cwd=target, check=True)
