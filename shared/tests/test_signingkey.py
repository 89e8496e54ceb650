from __future__ import annotations

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from servicekit.signingkey import ALGORITHM, public_jwk, sign_claims


def test_the_public_jwk_names_the_key_and_what_it_is_for() -> None:
    key = Ed25519PrivateKey.generate()

    jwk = public_jwk(key, "k-1")

    assert jwk["kty"] == "OKP"
    assert jwk["crv"] == "Ed25519"
    assert (jwk["kid"], jwk["alg"], jwk["use"]) == ("k-1", "EdDSA", "sig")
    assert "d" not in jwk  # never the private half


def test_a_signature_verifies_with_the_published_jwk_and_names_its_kid() -> None:
    key = Ed25519PrivateKey.generate()

    token = sign_claims({"sub": "1"}, key, "k-2", headers={"typ": "JWT"})

    assert jwt.get_unverified_header(token) == {"alg": ALGORITHM, "kid": "k-2", "typ": "JWT"}
    verifying = jwt.PyJWK(public_jwk(key, "k-2"))
    assert jwt.decode(token, verifying, algorithms=[ALGORITHM]) == {"sub": "1"}
