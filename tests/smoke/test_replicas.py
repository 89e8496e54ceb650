"""What must hold however many replicas serve a service (nox -s swarm runs 2 auth, 2 blog and
3 api replicas behind the gateway; natively and in compose there is one of each).

The gateway spreads requests over the replicas, so a run of requests reaches each of them.
"""

from __future__ import annotations

import httpx
import pytest

from tests.smoke.support import log_in

pytestmark = pytest.mark.smoke


def test_every_auth_replica_publishes_the_same_keys(base_url: str) -> None:
    # A new connection each time: nginx picks the replica per request.
    documents = {
        httpx.get(f"{base_url}/auth/.well-known/jwks.json", timeout=10).text for _ in range(12)
    }
    assert len(documents) == 1, documents
    (document,) = documents
    assert '"kty"' in document


def test_a_form_from_one_replica_is_accepted_by_another(browser: httpx.Client, unique: str) -> None:
    # The session cookie and its CSRF token are signed with the service's SECRET_KEY, the same
    # in every replica: each GET and POST below may land on a different one. (Four tries: a
    # fifth failed login for one account within a minute would be rate limited.)
    for _ in range(4):
        answer = log_in(browser, f"nobody-{unique}", "x")  # asserts the form page is a 200
        # The form again with the credentials refused: the CSRF token was accepted (a token
        # another replica could not verify would be a 400).
        assert answer.status_code == 200, answer.text[:500]
        assert "Invalid username or password." in answer.text
