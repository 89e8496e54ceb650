"""What the stack does when its Redis stalls or restarts empty (needs SMOKE_OWN_REDIS=1).

The private redis-server of deploy/native.py is frozen (SIGSTOP), killed and restarted here;
without one these tests are skipped, because the shared Redis of a machine is never frozen.
What must hold (docs/architecture.md, "When Redis is down"):

* a logout while Redis is frozen is answered quickly, without a 500, and every token from
  before it is refused from then on: unknown (503) while Redis cannot be asked, revoked (401)
  once auth has republished the marks from its database;
* a Redis restarted empty brings no revoked token back;
* pages still render for a signed-in reader while Redis is frozen, and every /readyz reports
  Redis failed but the service degraded, not unready.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.smoke.support import PASSWORD, OwnRedis, csrf_token, log_in, register

pytestmark = pytest.mark.smoke

#: A stalled Redis costs a request its timeout (REDIS_TIMEOUT_MS, 250 ms) a few times at most;
#: this bound says "answered, not hung" on a busy CI machine.
ANSWERED_WITHIN = 3.0


def test_the_private_redis_restarts_empty_on_its_port(own_redis: OwnRedis) -> None:
    import redis

    client = redis.Redis.from_url(own_redis.url, socket_timeout=1)
    client.set("smoke:probe", "1")
    before = own_redis.pid

    own_redis.kill()
    own_redis.restart()

    assert own_redis.pid != before
    assert client.get("smoke:probe") is None, "it keeps nothing on disk"


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def wait_for_status(call: Callable[[], httpx.Response], wanted: int, refused: set[int]) -> None:
    """Poll until ``call`` answers ``wanted``; every answer before must be in ``refused``."""
    deadline = time.monotonic() + 15
    while True:
        status = call().status_code
        if status == wanted:
            return
        assert status in refused, f"answered {status} while waiting for {wanted}"
        assert time.monotonic() < deadline, f"still {status}, never {wanted}"
        time.sleep(0.2)


def bearer_token(base_url: str, username: str) -> str:
    response = httpx.post(
        f"{base_url}/auth/api/token", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_a_logout_while_redis_is_frozen_leaves_no_earlier_token_valid(
    own_redis: OwnRedis, base_url: str, browser: httpx.Client, unique: str
) -> None:
    username = f"frozen-{unique}"
    register(browser, username)
    cookie = browser.cookies["identity"]
    token = bearer_token(base_url, username)
    bearer = {"Authorization": f"Bearer {token}"}

    def api() -> httpx.Response:
        return httpx.get(f"{base_url}/api/v1/projects", headers=bearer, timeout=30)

    def blog_page() -> httpx.Response:
        return httpx.get(f"{base_url}/", cookies={"identity": cookie}, timeout=30)

    # Right after an earlier test restarted Redis, tokens are "unknown" (503) for about a
    # second, until auth has republished the marks.
    wait_for_status(api, 200, refused={503})
    assert username in blog_page().text
    account = browser.get("/auth/account")

    with own_redis.frozen():
        # A page still renders for the signed-in reader, as theirs.
        page, elapsed = timed(blog_page)
        assert page.status_code == 200
        assert elapsed < ANSWERED_WITHIN
        assert username in page.text
        form = {"csrf_token": csrf_token(account.text)}
        logged_out, elapsed = timed(lambda: browser.post("/auth/logout", data=form))
        assert logged_out.status_code == 302, logged_out.text[:500]
        assert elapsed < ANSWERED_WITHIN
        refused, elapsed = timed(api)
        assert refused.status_code == 503, "the API cannot check the token: never 200"
        assert refused.headers["retry-after"]
        assert elapsed < ANSWERED_WITHIN
        # Every service says what it lacks, and stays in service (degraded, not unready).
        for path in ("/readyz", "/auth/readyz", "/api/readyz"):
            ready, elapsed = timed(lambda path=path: httpx.get(f"{base_url}{path}", timeout=30))
            assert ready.status_code == 200
            assert ready.json()["status"] == "degraded"
            assert ready.json()["checks"] == {"database": "ok", "redis": "failed"}
            assert elapsed < ANSWERED_WITHIN

    # Afterwards, at every moment: refused (503 while unknown), then revoked (401).
    wait_for_status(api, 401, refused={503})
    assert username not in blog_page().text


def test_a_redis_restarted_empty_brings_no_revoked_token_back(
    own_redis: OwnRedis, base_url: str, browser: httpx.Client, unique: str
) -> None:
    username = f"restart-{unique}"
    register(browser, username)
    revoked = bearer_token(base_url, username)
    account = browser.get("/auth/account")
    browser.post("/auth/logout", data={"csrf_token": csrf_token(account.text)})
    assert log_in(browser, username, PASSWORD).status_code == 302
    valid = bearer_token(base_url, username)

    def api(token: str) -> Callable[[], httpx.Response]:
        headers = {"Authorization": f"Bearer {token}"}
        return lambda: httpx.get(f"{base_url}/api/v1/projects", headers=headers, timeout=30)

    wait_for_status(api(revoked), 401, refused={503})
    own_redis.kill()
    own_redis.restart()

    # The revoked token is never accepted; the valid one works again once auth republished.
    assert api(revoked)().status_code in {401, 503}
    wait_for_status(api(valid), 200, refused={503})
    assert api(revoked)().status_code == 401
