"""An Ed25519 key signing identity tokens: its public JWK, and a signature over claims.

auth signs with its production keys (``auth_service/signing.py``), the development identity
with a key in the instance folder (:mod:`servicekit.devidentity`) and the test token issuer with
a throwaway key (:mod:`servicekit.testing`): all three publish and sign here, so a verifier
sees the same JWK fields and the same token header from each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

#: The JWS algorithm of an Ed25519 signature.
ALGORITHM = "EdDSA"


def public_jwk(private_key: Ed25519PrivateKey, kid: str) -> dict[str, Any]:
    """The public half of ``private_key`` as a JWK with ``kid``, ``alg`` and ``use``."""
    jwk: dict[str, Any] = jwt.algorithms.OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    jwk.update(kid=kid, alg=ALGORITHM, use="sig")
    return jwk


def sign_claims(
    claims: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    kid: str,
    headers: Mapping[str, Any] | None = None,
) -> str:
    """``claims`` as a compact JWS signed by ``private_key``, its ``kid`` in the header."""
    return jwt.encode(
        dict(claims), private_key, algorithm=ALGORITHM, headers={"kid": kid, **(headers or {})}
    )
