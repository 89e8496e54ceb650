"""The JSON side of auth: the token endpoint, the public keys (JWKS) and their OpenAPI document."""
