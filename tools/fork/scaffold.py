"""The files a fork gets that upstream has no copy of: rendered from templates/.

Templates use ``@name`` placeholders (string.Template with ``@`` as the delimiter, so the
``$`` of shell and compose files stays as it is); per-service text is in
``templates/try-<service>.md``.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime
from pathlib import Path

from tools.fork.naming import Names, Rule, rename
from tools.fork.sources import LIBRARY_PACKAGE, SERVICES, Upstream

TEMPLATES = Path(__file__).parent / "templates"

#: template -> where the fork gets it
RENDERED = {
    "noxfile.py.tmpl": "noxfile.py",
    "constraints.in.tmpl": "constraints.in",
    "Dockerfile.tmpl": "Dockerfile",
    "compose.yaml.tmpl": "compose.yaml",
    "README.md.tmpl": "README.md",
    "servicekit.md.tmpl": "docs/servicekit.md",
    "pre-commit-config.yaml.tmpl": ".pre-commit-config.yaml",
    "ci.yml.tmpl": ".github/workflows/ci.yml",
    "gitignore.tmpl": ".gitignore",
    "dockerignore.tmpl": ".dockerignore",
}


class _AtTemplate(string.Template):
    delimiter = "@"


def placeholders(names: Names, upstream: Upstream, rules: list[Rule]) -> dict[str, str]:
    """The values every template may use."""
    try_it = TEMPLATES / f"try-{names.service}.md"
    return {
        "title": names.title,
        "package": names.package,
        "distribution": names.distribution,
        "prefix": names.env_prefix,
        "service": names.service,
        "commit": upstream.commit,
        "short_commit": upstream.commit[:12],
        "service_path": f"{SERVICES / names.service}/",
        "library_path": f"{LIBRARY_PACKAGE}/",
        "issuer": rename("flask-services-auth", rules),
        "audience": rename("flask-services", rules),
        "try_it": rename(try_it.read_text().strip(), rules) if try_it.exists() else "",
        "stubs": ", ".join(f'"{name}"' for name in stub_packages(upstream)),
        "stub_lines": "\n".join(stub_packages(upstream)),
    }


def stub_packages(upstream: Upstream) -> list[str]:
    """The ``types-*`` packages upstream's typecheck installs (from requirements/dev.in), so a
    fork's mypy has the same type information whatever libraries the service gained since."""
    lines = (upstream.root / "requirements" / "dev.in").read_text().splitlines()
    return sorted(line.strip() for line in lines if line.strip().startswith("types-"))


def render(template: str, values: dict[str, str]) -> str:
    """The text of ``template`` with its placeholders filled (unknown ``@words`` stay)."""
    return _AtTemplate((TEMPLATES / template).read_text()).safe_substitute(values)


def forked_from(names: Names, upstream: Upstream) -> str:
    """The FORKED_FROM record: where this project came from, for comparing later changes."""
    lines = [
        f"repository: {upstream.origin}",
        f"commit: {upstream.commit}",
        f"uncommitted-changes: {'yes' if upstream.dirty else 'no'}",
        f"service: {SERVICES / names.service}/ (package {names.upstream_package})",
        f"library: {LIBRARY_PACKAGE}/ (vendored as servicekit/)",
        f"package: {names.package}",
        f"forked: {datetime.now(UTC).date().isoformat()}",
    ]
    return "\n".join(lines) + "\n"
