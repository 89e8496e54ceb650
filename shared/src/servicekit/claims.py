"""What an identity token says: its claim set, and the roles it may carry.

auth signs these claims (``signing.py``), the development identity signs them to run blog or
api alone (``servicekit.devidentity``), and the test token issuer signs them in the suites
(``servicekit.testing``): all three build them here, so a verifier finds the same claims from
each. Nothing here imports Flask or a JWT library.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Iterable
from typing import Any

#: Every role the system knows, weakest first.
ROLES = ("reader", "author", "admin")
#: The role that passes every role check.
ADMIN = "admin"
#: Claims every identity token carries; a verifier refuses a token without any of them.
REQUIRED_CLAIMS = ("sub", "name", "roles", "iss", "aud", "iat", "exp", "jti")


def passes_role_check(held: Collection[str], *wanted: str) -> bool:
    """Whether someone holding ``held`` has one of ``wanted``; an admin passes every check."""
    return ADMIN in held or any(role in held for role in wanted)


def identity_claims(
    subject: str,
    name: str,
    roles: Iterable[str],
    *,
    issuer: str,
    audience: str,
    lifetime: float,
    issued_at: float | None = None,
) -> dict[str, Any]:
    """The claims of a new identity token: :data:`REQUIRED_CLAIMS`, with a fresh ``jti``.

    ``iat`` keeps sub-second precision: a verifier refuses tokens issued before a user's
    revocation mark, and a login right after a logout must not fall in the same second.
    """
    now = time.time() if issued_at is None else issued_at
    return {
        "sub": subject,
        "name": name,
        "roles": list(roles),
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
