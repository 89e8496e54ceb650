"""The baseline apps under the project's own gunicorn and nginx configuration.

deploy/native.py starts the three services; it has no hook for extra apps, so this module
starts each baseline the same way: ``gunicorn -c deploy/gunicorn.conf.py <app>`` with the
environment native.py gives a service (workers, bind, forwarded IPs), and an nginx of its own
rendered from deploy/nginx/templates/default.conf.template by native.py's own functions, every
upstream pointing at the baseline. A baseline is thus reached through the same proxy settings
(buffering, keep-alive to the client, gzip, headers) as the services.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
UWSGI_INI = DEPLOY / "uwsgi.ini"


def load_native() -> ModuleType:
    """deploy/native.py as a module (a script beside its helpers, not a package)."""
    spec = importlib.util.spec_from_file_location("native", DEPLOY / "native.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("cannot load deploy/native.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Baseline:
    """One baseline app: its server, app spec, ports (server, gateway) and environment."""

    name: str
    app: str
    port: int
    gateway_port: int
    #: "gunicorn" (deploy/gunicorn.conf.py), "uvicorn" (the FastAPI peer) or "uwsgi"
    #: (deploy/uwsgi.ini)
    server: str = "gunicorn"
    #: What answers 200 once the app is up, through its gateway.
    ready_path: str = "/"
    #: Environment for the server on top of the baselines' own (a service's, for uWSGI).
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The baseline's gateway, like SMOKE_BASE_URL for the services."""
        return f"http://127.0.0.1:{self.gateway_port}"


def baselines(
    first_port: int, service_environs: Mapping[str, Mapping[str, str]] | None = None
) -> list[Baseline]:
    """The baseline processes on ``first_port``, +1, ... (their gateways: +10, +11, ...).

    With ``service_environs`` (each service's environment, from its running gunicorn) the peers
    and the uWSGI-served services join: they read the same seeded databases.
    """
    apps: list[tuple[str, str, str, str, Mapping[str, str]]] = [
        ("raw", "bench.baselines:raw_app", "gunicorn", "/", {}),
        ("bare", "bench.baselines:create_bare_app()", "gunicorn", "/", {}),
        ("hooked", "bench.baselines:create_hooked_app()", "gunicorn", "/", {}),
    ]
    if service_environs is not None:
        api, blog = service_environs["api"], service_environs["blog"]
        apps += [
            ("fastapi", "bench.peers.fastapi_app:app", "uvicorn", "/", {}),
            ("drf", "bench.peers.drf.wsgi:application", "gunicorn", "/", {}),
            ("api_uwsgi", "api_service:create_app()", "uwsgi", "/api/healthz", api),
            ("blog_uwsgi", "blog_service:create_app()", "uwsgi", "/healthz", blog),
        ]
    return [
        Baseline(name, app, first_port + i, first_port + 10 + i, server, ready, dict(env))
        for i, (name, app, server, ready, env) in enumerate(apps)
    ]


def service_environ(pid: int) -> dict[str, str]:
    """The environment a service's gunicorn master runs with (Linux: /proc/<pid>/environ).

    native.py passes each service its database URL and settings in the environment only; the
    seeder and the bare views need the same ones.
    """
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {key.decode(): value.decode(errors="replace") for key, value in pairs}


class BaselineStack:
    """Starts and stops the baseline gunicorns and gateways."""

    def __init__(self, workdir: Path, items: list[Baseline], extra_env: Mapping[str, str]):
        self.workdir = workdir
        self.items = items
        self.extra_env = dict(extra_env)
        self.native = load_native()
        # native.py's own process handling: a process group each, logs in workdir/logs,
        # SIGTERM then SIGKILL on the way out. Its databases and ports stay unused.
        self.processes: Any = self.native.Stack(workdir, {}, "", "")

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.processes.start(name, command, env)

    def _env(self, item: Baseline) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.extra_env)
        env.update(
            {
                # What native.py's service_env sets for gunicorn and the shared settings.
                "APP_ENV": "production",
                "BENCH_SECRET_KEY": secrets.token_urlsafe(48),
                "BENCH_INSTANCE_PATH": str(self.workdir / "instance"),
                "BENCH_TRUSTED_PROXIES": "1",
                "BENCH_SECURE_COOKIES": "false",
                "GUNICORN_BIND": f"127.0.0.1:{item.port}",
                "WEB_CONCURRENCY": "2",
                "FORWARDED_ALLOW_IPS": "127.0.0.1",
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            }
        )
        env.pop("APP_MODULE", None)
        env.update(item.env)
        # A service's environment names its own gunicorn bind: this server's port wins.
        env.update(
            {
                "GUNICORN_BIND": f"127.0.0.1:{item.port}",
                "UWSGI_HTTP_SOCKET": f"127.0.0.1:{item.port}",
                "UWSGI_MODULE": item.app,
                "WEB_CONCURRENCY": "2",
            }
        )
        return env

    def _command(self, item: Baseline) -> list[str]:
        if item.server == "uvicorn":
            # As the FastAPI template serves its app (`fastapi run --workers N` is uvicorn).
            return [
                sys.executable, "-m", "uvicorn", item.app, "--host", "127.0.0.1",
                "--port", str(item.port), "--workers", "2", "--proxy-headers",
                "--forwarded-allow-ips", "127.0.0.1",
            ]  # fmt: skip
        if item.server == "uwsgi":
            uwsgi = shutil.which("uwsgi", path=str(Path(sys.executable).parent)) or "uwsgi"
            return [uwsgi, "--ini", str(UWSGI_INI)]
        return [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), item.app]

    def _gateway(self, item: Baseline) -> list[str]:
        """An nginx rendered by native.py itself, every service's upstream pointing at ``item``."""
        folder = self.workdir / f"gateway-{item.name}"
        folder.mkdir()
        ports = {"gateway": item.gateway_port, "auth": item.port, "blog": item.port}
        ports["api"] = item.port
        gateway: Any = self.native.Stack(folder, ports, "", "")
        main = cast(Path, gateway.render_nginx())
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        return [nginx, "-c", str(main), "-p", str(folder), "-g", "daemon off;"]

    def start(self) -> None:
        (self.workdir / "instance").mkdir(exist_ok=True)
        for item in self.items:
            self._start(item.name, self._command(item), self._env(item))
            self._start(f"gateway-{item.name}", self._gateway(item), dict(os.environ))
        self.wait_ready()

    # A fresh virtualenv compiles every module of FastAPI, Django and uWSGI's app on first import,
    # nine processes at once on two cores: over a minute the first time, seconds afterwards.
    def wait_ready(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        pending = {item.name: item.url + item.ready_path for item in self.items}
        while pending:
            for name, process in self.processes.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"baseline {name} exited:\n{self.processes.tail(name)}")
            for name, url in list(pending.items()):
                with (
                    suppress(urllib.error.URLError, OSError),
                    urllib.request.urlopen(url, timeout=5) as response,  # noqa: S310 - loopback
                ):
                    if response.status == 200:
                        del pending[name]
            if pending:
                if time.monotonic() > deadline:
                    logs = "\n".join(f"--- {name}\n{self.processes.tail(name)}" for name in pending)
                    raise RuntimeError(f"baselines not ready: {', '.join(pending)}\n{logs}")
                time.sleep(0.3)

    def pid(self, name: str) -> int:
        """The process id of baseline ``name``'s gunicorn master."""
        pid: int = self.processes.processes[name].pid
        return pid

    def stop(self) -> None:
        self.processes.stop()


@contextmanager
def running(
    workdir: Path, items: list[Baseline], extra_env: Mapping[str, str]
) -> Iterator[BaselineStack]:
    """The baselines, started and ready; stopped on the way out whatever happens."""
    stack = BaselineStack(workdir, items, extra_env)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
