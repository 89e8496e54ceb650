"""The JSON side of auth: the token endpoint and the public keys (JWKS)."""
