"""What a gunicorn worker inherits from its master under the production settings.

The master loads the app once (preload_app) and forks the workers. Its objects must reach
them frozen (``gc.freeze()`` in the settings' ``pre_fork``): otherwise every full collection in
a worker walks the whole app again, a pause of tens of milliseconds at the tail of whichever
request is running (docs/benchmarks.md, "The tail of a page").

A gunicorn of its own, with deploy/gunicorn.conf.py and an app that answers with what its
worker sees: the services' routes have no business reporting on the garbage collector.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.smoke.support import wait_for

pytestmark = pytest.mark.smoke

ROOT = Path(__file__).resolve().parents[2]

PROBE_APP = textwrap.dedent(
    """
    import gc

    # Loaded in the master, before the fork, like a service's app and its modules.
    LOADED_BY_THE_MASTER = [{"row": number} for number in range(10_000)]


    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(gc.get_freeze_count()).encode()]
    """
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def probe_url(tmp_path: Path) -> Iterator[str]:
    if not os.environ.get("SMOKE_GUNICORN_PIDS"):
        pytest.skip("native stack only: the containers session has no gunicorn outside them")
    (tmp_path / "gc_probe.py").write_text(PROBE_APP)
    port = _free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"APP_MODULE", "_METRICS_DIRECTORY_CLEARED"}
    }
    env |= {
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_ACCESS_LOG": "",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    config = ROOT / "deploy" / "gunicorn.conf.py"
    command = [sys.executable, "-m", "gunicorn", "-c", str(config), "gc_probe:app"]
    server = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: _answers(url) or server.poll() is not None, timeout=30)
        assert server.poll() is None, "gunicorn did not start"
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        time.sleep(0.1)
        return False


def test_a_worker_inherits_the_masters_objects_frozen(probe_url: str) -> None:
    frozen = int(httpx.get(probe_url, timeout=10).text)
    # The master's modules and the probe's ten thousand rows; without the freeze: 0.
    assert frozen > 10_000
