"""Storing random secrets (recovery codes, personal access tokens) as hashes.

Passwords are hashed with argon2id because people choose them: a slow hash is what stands
between a stolen database and a dictionary attack. The secrets here are chosen by the server,
with 80 bits of randomness or more, so no dictionary exists and no amount of guessing helps:
one SHA-256 is enough, and it can be looked up by an index (a salted, slow hash could not,
and checking a token against every stored hash would cost a second per API call).
"""

from __future__ import annotations

import hashlib


def digest(secret: str) -> str:
    """The SHA-256 of ``secret`` in hex: what the database keeps instead of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()
