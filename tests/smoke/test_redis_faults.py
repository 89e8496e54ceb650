"""What the stack does when its Redis stalls or restarts empty (needs SMOKE_OWN_REDIS=1).

The private redis-server of deploy/native.py is frozen (SIGSTOP), killed and restarted here;
without one these tests are skipped, because the shared Redis of a machine is never frozen.
"""

from __future__ import annotations

import pytest

from tests.smoke.redis_control import OwnRedis

pytestmark = pytest.mark.smoke


def test_the_private_redis_restarts_empty_on_its_port(own_redis: OwnRedis) -> None:
    import redis

    client = redis.Redis.from_url(own_redis.url, socket_timeout=1)
    client.set("smoke:probe", "1")
    before = own_redis.pid

    own_redis.kill()
    own_redis.restart()

    assert own_redis.pid != before
    assert client.get("smoke:probe") is None, "it keeps nothing on disk"
