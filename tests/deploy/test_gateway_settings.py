"""Every way of running the gateway sets every variable its template reads.

nginx's image fills the template's ${NAME}s from the environment and leaves unknown ones as they
are, which nginx then refuses to start with: a setting added to the template must reach
compose.yaml, the Swarm stack and the Kubernetes ConfigMap (and native.py, which the smoke
session starts for real).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "templates" / "default.conf.template"
#: Set by the nginx image's entrypoint itself (NGINX_ENTRYPOINT_LOCAL_RESOLVERS=1).
COMPUTED_BY_THE_IMAGE = {"NGINX_LOCAL_RESOLVERS"}


def template_variables() -> set[str]:
    """The ${NAME}s of the template that the environment must provide."""
    return set(re.findall(r"\$\{([A-Z_]+)\}", TEMPLATE.read_text())) - COMPUTED_BY_THE_IMAGE


def service_block(compose_file: Path, service: str) -> str:
    """The text of one service in a Compose file, up to the next service at the same indent."""
    text = compose_file.read_text()
    start = re.search(rf"^  {service}:\n", text, flags=re.M)
    assert start is not None, f"no {service} service in {compose_file.name}"
    following = re.search(r"^  [a-z][\w-]*:\n|^\S", text[start.end() :], flags=re.M)
    end = start.end() + following.start() if following else len(text)
    return text[start.start() : end]


@pytest.mark.parametrize(
    "compose_file", [ROOT / "compose.yaml", ROOT / "deploy" / "swarm" / "stack.yaml"]
)
def test_compose_files_give_the_gateway_every_template_variable(compose_file: Path) -> None:
    block = service_block(compose_file, "gateway")
    given = set(re.findall(r"^\s+([A-Z_]+):", block, flags=re.M))
    assert template_variables() - given == set()


def test_the_kubernetes_gateway_config_has_every_template_variable() -> None:
    kustomization = (ROOT / "deploy" / "kubernetes" / "base" / "kustomization.yaml").read_text()
    given = set(re.findall(r"^\s+- ([A-Z_]+)=", kustomization, flags=re.M))
    assert template_variables() - given == set()
