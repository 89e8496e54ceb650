"""The identity-token check of the peers: what a FastAPI or DRF project would write.

An EdDSA JWT from auth, verified with auth's published public keys (fetched once per process
and cached), its issuer, audience and expiry checked with PyJWT. No revocation look-up: the
peers show what the frameworks cost, and our endpoint's extra Redis round trip is on our side
of the comparison.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from typing import Any

import jwt

_keys: dict[str, jwt.PyJWK] = {}
_lock = threading.Lock()


def _key(kid: str) -> jwt.PyJWK:
    with _lock:
        if not _keys:
            url = os.environ["BENCH_JWKS_URL"]
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                jwks: dict[str, Any] = json.load(response)
            _keys.update({key["kid"]: jwt.PyJWK(key) for key in jwks["keys"]})
        return _keys[kid]


def verify(authorization: str | None) -> dict[str, Any]:
    """The claims of a valid ``Authorization: Bearer`` token; ValueError otherwise."""
    if not authorization or not authorization.startswith("Bearer "):
        raise ValueError("no bearer token")
    token = authorization.removeprefix("Bearer ")
    try:
        kid = jwt.get_unverified_header(token)["kid"]
        claims: dict[str, Any] = jwt.decode(
            token,
            _key(kid),
            algorithms=["EdDSA"],
            audience=os.environ.get("BENCH_AUTH_AUDIENCE", "flask-services"),
            issuer=os.environ.get("BENCH_AUTH_ISSUER", "flask-services-auth"),
        )
    except (jwt.PyJWTError, KeyError) as error:
        raise ValueError("invalid token") from error
    return claims
