"""deploy/kubernetes/create_secrets.py makes every Secret the manifests mount or read, no other.

The manifests themselves are rendered and validated by `nox -s kubernetes`; this checks that
the operator's one command and the manifests agree on names and keys.
"""

from __future__ import annotations

import base64
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
SCRIPT = KUBERNETES / "create_secrets.py"

spec = importlib.util.spec_from_file_location("create_secrets", SCRIPT)
assert spec
assert spec.loader
create_secrets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(create_secrets)


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair anywhere in a YAML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def secrets_referenced(*folders: Path) -> set[str]:
    """The names of the Secrets the manifests in ``folders`` read (envFrom, volumes)."""
    names = set()
    for folder in folders:
        for path in folder.glob("*.yaml"):
            for document in yaml.safe_load_all(path.read_text()):
                for key, value in walk(document):
                    if key == "secretRef":
                        names.add(value["name"])
                    elif key == "secret" and isinstance(value, dict):
                        names.add(value["secretName"])
    return names


def decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}


def test_the_dev_secrets_are_every_secret_the_dev_overlay_reads() -> None:
    made = create_secrets.build({}, dev=True, namespace="flask-services")
    secrets = {item["metadata"]["name"]: item for item in made["items"]}

    referenced = secrets_referenced(KUBERNETES / "base", KUBERNETES / "overlays" / "dev")
    assert referenced == set(secrets)
    assert {item["metadata"]["namespace"] for item in made["items"]} == {"flask-services"}

    passwords = decoded(secrets["postgres-passwords"])
    # deploy/postgres/init-databases.sh reads <service>_password; the image postgres_password
    assert set(passwords) == {"postgres_password", "auth_password", "blog_password", "api_password"}
    for service in ("auth", "blog", "api"):
        data = decoded(secrets[service])
        totp = {"AUTH_TOTP_KEY"} if service == "auth" else set()
        assert set(data) == {"SECRET_KEY", "DATABASE_URL", *totp}
        assert len(data["SECRET_KEY"]) >= 32
        password = passwords[f"{service}_password"]
        assert data["DATABASE_URL"] == f"postgresql://{service}:{password}@postgres:5432/{service}"
    (pem,) = decoded(secrets["auth-signing-keys"]).values()
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")


def test_production_secrets_use_the_operators_databases_and_no_dev_passwords() -> None:
    urls = {name: f"postgresql://{name}:pw@db.example/{name}" for name in ("auth", "blog", "api")}
    made = create_secrets.build(urls, dev=False, namespace="shop")
    secrets = {item["metadata"]["name"]: item for item in made["items"]}

    assert set(secrets) == secrets_referenced(KUBERNETES / "base")
    assert decoded(secrets["blog"])["DATABASE_URL"] == urls["blog"]
    assert {item["metadata"]["namespace"] for item in made["items"]} == {"shop"}


def test_every_run_makes_new_keys() -> None:
    first, second = (create_secrets.build({}, dev=True, namespace="x") for _ in range(2))
    assert first["items"][0]["data"]["SECRET_KEY"] != second["items"][0]["data"]["SECRET_KEY"]


@pytest.mark.parametrize("args", [[], ["--database-url", "auth=postgresql://a"]])
def test_the_command_wants_every_database_url_outside_dev(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "--database-url needed for" in result.stderr
