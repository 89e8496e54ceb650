"""The Kubernetes gateway passes the client's address on, not the ingress controller's.

In Kubernetes the ingress controller is a proxy in front of the gateway; the apps believe one
proxy (TRUSTED_PROXIES=1: the last X-Forwarded-For entry). The gateway's extra file
(deploy/kubernetes/base/gateway-real-ip.conf.template) makes that last entry the client. Here
the shared gateway template and that file run in a real nginx in front of an echo server,
with 127.0.0.1 standing for the ingress controller. `nox -s kubernetes` runs this (and
installs nginx when missing); elsewhere it is skipped without nginx.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import shutil
import socket
import string
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = pytest.mark.skipif(not Path(NGINX).exists(), reason="needs nginx")


def _load_native() -> ModuleType:
    """deploy/native.py (a script, not a package), for the gateway's default limits."""
    spec = importlib.util.spec_from_file_location("native", ROOT / "deploy" / "native.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NATIVE = _load_native()


class Echo(http.server.BaseHTTPRequestHandler):
    """Answers with the forwarded headers it received."""

    def do_GET(self) -> None:
        names = ("X-Forwarded-For", "X-Forwarded-Prefix")
        body = json.dumps({name: self.headers.get(name) for name in names}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[str]:
    """nginx with both templates rendered, in front of the echo server; its base URL."""
    echo = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    upstream = f"127.0.0.1:{echo.server_address[1]}"
    port = free_port()
    variables = {
        "NGINX_LISTEN": f"127.0.0.1:{port}",
        "AUTH_UPSTREAM": upstream,
        "BLOG_UPSTREAM": upstream,
        "API_UPSTREAM": upstream,
        "NGINX_LOCAL_RESOLVERS": "127.0.0.1",
        "MAX_CONTENT_LENGTH": "8388608",
        "INGRESS_CONTROLLER_CIDR": "127.0.0.1/32",
        "NGINX_IMAGE_CACHE_PATH": str(tmp_path / "images"),
        "NGINX_IMAGE_CACHE_SIZE": "10m",
        "NGINX_SERVER_NAMES": "127.0.0.1",
        "NGINX_PUBLIC_PORT": str(port),
        **NATIVE.GATEWAY_LIMITS,
    }
    conf = tmp_path / "conf.d"
    conf.mkdir()
    templates = {
        "default.conf": ROOT / "deploy" / "nginx" / "templates" / "default.conf.template",
        "real-ip.conf": ROOT / "deploy" / "kubernetes" / "base" / "gateway-real-ip.conf.template",
    }
    for name, template in templates.items():
        text = string.Template(template.read_text()).safe_substitute(variables)
        (conf / name).write_text(text.replace("access_log /dev/stdout", "access_log off; #"))
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; daemon off;\n"
        f"events {{}}\nhttp {{ include {conf}/*.conf; }}\n"
    )
    nginx = subprocess.Popen([NGINX, "-c", str(main), "-p", str(tmp_path)])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/auth/", timeout=1).close()  # noqa: S310
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
        yield base
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        echo.shutdown()
        echo.server_close()


def forwarded(base: str, path: str, forwarded_for: str) -> dict[str, str]:
    """The forwarded headers the upstream got for a request with ``forwarded_for``."""
    headers = {"X-Forwarded-For": forwarded_for}
    request = urllib.request.Request(base + path, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
        seen: dict[str, str] = json.load(answer)
    return seen


def test_the_apps_last_forwarded_address_is_the_client(gateway: str) -> None:
    # The controller (127.0.0.1) says the client is 203.0.113.9.
    seen = forwarded(gateway, "/auth/login", "203.0.113.9")
    assert seen["X-Forwarded-For"].split(", ")[-1] == "203.0.113.9"
    assert seen["X-Forwarded-Prefix"] == "/auth"


def test_an_address_the_client_made_up_is_not_believed(gateway: str) -> None:
    # The client sent "X-Forwarded-For: 6.6.6.6"; the controller appended its real address.
    seen = forwarded(gateway, "/api/v1/projects", "6.6.6.6, 203.0.113.9")
    assert seen["X-Forwarded-For"].split(", ")[-1] == "203.0.113.9"
