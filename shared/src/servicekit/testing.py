"""Helpers for the services' test suites (importable, not used at run time)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event


class SigningKey:
    """An Ed25519 key that mints identity tokens the way auth does, for tests."""

    def __init__(
        self,
        kid: str | None = None,
        *,
        issuer: str = "flask-services-auth",
        audience: str = "flask-services",
    ) -> None:
        self.kid = kid or uuid.uuid4().hex[:16]
        self.issuer = issuer
        self.audience = audience
        self.private_key = Ed25519PrivateKey.generate()

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK with this key's id."""
        jwk: dict[str, Any] = jwt.algorithms.OKPAlgorithm.to_jwk(
            self.private_key.public_key(), as_dict=True
        )
        jwk.update(kid=self.kid, alg="EdDSA", use="sig")
        return jwk

    def jwks(self) -> dict[str, Any]:
        """A JWKS holding only this key."""
        return {"keys": [self.public_jwk()]}

    def mint(
        self,
        sub: str = "1",
        name: str = "alice",
        roles: Iterable[str] = ("reader",),
        *,
        lifetime: float = 300,
        issued_at: float | None = None,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A signed token; any claim can be overridden (or removed by passing None)."""
        now = time.time() if issued_at is None else issued_at
        payload: dict[str, Any] = {
            "sub": sub,
            "name": name,
            "roles": list(roles),
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
        }
        payload.update(claims)
        payload = {key: value for key, value in payload.items() if value is not None}
        return jwt.encode(
            payload,
            self.private_key,
            algorithm="EdDSA",
            headers={"kid": self.kid, **(headers or {})},
        )


@contextmanager
def count_queries(db: SQLAlchemy) -> Iterator[list[str]]:
    """Collect the SQL statements ``db`` runs inside the block (needs an app context)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
