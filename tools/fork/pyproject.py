"""The fork's pyproject.toml: one distribution holding the service and the vendored library.

Built from three upstream files: the service's pyproject.toml (its dependencies, extras,
scripts, package data, pytest settings), the shared library's (its dependencies and package
data) and the repository root's (ruff, mypy and coverage settings every package shares).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from tools.fork.naming import Names, Rule, rename

LIBRARY = "servicekit"


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _merge_requirements(*groups: list[str], drop: set[str]) -> list[str]:
    """Every requirement once (the first spelling wins), without the ``drop`` distributions."""
    merged: dict[str, str] = {}
    for group in groups:
        for requirement in group:
            name = _requirement_name(requirement)
            if name not in drop:
                merged.setdefault(name, requirement)
    return list(merged.values())


def _renamed(value: Any, rules: list[Rule]) -> Any:
    """``value`` with every string (keys included) renamed."""
    if isinstance(value, str):
        return rename(value, rules)
    if isinstance(value, list):
        return [_renamed(item, rules) for item in value]
    if isinstance(value, dict):
        return {rename(key, rules): _renamed(item, rules) for key, item in value.items()}
    return value


def fork_pyproject(
    names: Names, service_dir: Path, library_dir: Path, root_dir: Path, rules: list[Rule]
) -> dict[str, Any]:
    """The fork's pyproject.toml as a document for tomlwriter.dumps."""
    service = tomllib.loads((service_dir / "pyproject.toml").read_text())
    library = tomllib.loads((library_dir / "pyproject.toml").read_text())
    shared_tools = tomllib.loads((root_dir / "pyproject.toml").read_text()).get("tool", {})
    upstream_dists = {
        _requirement_name(service["project"]["name"]),
        _requirement_name(library["project"]["name"]),
    }
    project: dict[str, Any] = {
        "name": names.distribution,
        "version": "0.1.0",
        "description": rename(service["project"].get("description", ""), rules),
        "readme": "README.md",
        "requires-python": service["project"].get("requires-python", ">=3.11"),
        "dependencies": _merge_requirements(
            service["project"].get("dependencies", []),
            library["project"].get("dependencies", []),
            drop=upstream_dists,
        ),
    }
    if "scripts" in service["project"]:
        project["scripts"] = _renamed(service["project"]["scripts"], rules)
    extras: dict[str, list[str]] = {}
    for source in (service, library):
        for extra, requirements in source["project"].get("optional-dependencies", {}).items():
            extras[extra] = _merge_requirements(extras.get(extra, []), requirements, drop=set())
    extras.setdefault("server", ["gunicorn"])
    project["optional-dependencies"] = extras

    setuptools_service = service.get("tool", {}).get("setuptools", {})
    setuptools_library = library.get("tool", {}).get("setuptools", {})
    package_data = {
        names.package: _renamed(
            setuptools_service.get("package-data", {}).get(names.upstream_package, []), rules
        ),
        LIBRARY: setuptools_library.get("package-data", {}).get(LIBRARY, []),
    }
    pytest = _renamed(service.get("tool", {}).get("pytest", {}).get("ini_options", {}), rules)
    library_warnings = library.get("tool", {}).get("pytest", {}).get("ini_options", {})
    warnings = pytest.get("filterwarnings", [])
    for warning in library_warnings.get("filterwarnings", []):
        if warning not in warnings:
            warnings.append(warning)
    if warnings:
        pytest["filterwarnings"] = warnings

    return {
        "project": project,
        "build-system": {
            "requires": ["setuptools>=75"],
            "build-backend": "setuptools.build_meta",
        },
        "tool": {
            "setuptools": {
                "packages": {"find": {"include": [f"{names.package}*", f"{LIBRARY}*"]}},
                "package-data": package_data,
            },
            "pytest": {"ini_options": pytest},
            **_code_tools(names, shared_tools),
        },
    }


def _code_tools(names: Names, shared_tools: dict[str, Any]) -> dict[str, Any]:
    """ruff, mypy and coverage settings as upstream's, with this project's first-party names.

    A longer package name lengthens the lines that name it: E501 allows the difference, while
    the formatter keeps upstream's line length, so reformatting moves no other line.
    """
    tools: dict[str, Any] = {}
    if "ruff" in shared_tools:
        ruff = dict(shared_tools["ruff"])
        lint = dict(ruff.get("lint", {}))
        lint["isort"] = {**lint.get("isort", {}), "known-first-party": [names.package, LIBRARY]}
        if names.growth:
            # two renamed names on one line at most, in upstream's code
            length = int(ruff.get("line-length", 88)) + 2 * names.growth
            lint["pycodestyle"] = {**lint.get("pycodestyle", {}), "max-line-length": length}
            # SIM108 offers a one-line ternary whenever it fits that raised limit, on code
            # that upstream's limit kept as an if/else
            lint["ignore"] = [*lint.get("ignore", []), "SIM108"]
        ruff["lint"] = lint
        tools["ruff"] = ruff
    if "mypy" in shared_tools:
        mypy = dict(shared_tools["mypy"])
        mypy["exclude"] = ["/migrations/", "/build/"]
        tools["mypy"] = mypy
    report = shared_tools.get("coverage", {}).get("report", {})
    tools["coverage"] = {"run": {"branch": True}, "report": report}
    return tools
