"""Create the stack's secrets once, so `docker compose up` needs no other step.

compose.yaml runs this in the one-shot `secrets` service (the auth image, as its unprivileged
user) before anything else starts. It writes into one named volume per consumer, so each
container sees only its own secrets; the blog and the api never see auth's signing key:

    /secrets/auth/secret_key          AUTH's Flask SECRET_KEY (read via SECRET_KEY_FILE)
    /secrets/auth/signing-keys/*.pem  the Ed25519 key that signs identity tokens
    /secrets/auth/totp_key            the Fernet key that encrypts TOTP secrets (AUTH_TOTP_KEY_FILE)
    /secrets/auth/pgpass              libpq password file for the `auth` database role
    /secrets/auth/redis_url           redis://:<password>@redis:6379/0 (rate limits, revocations)
    /secrets/blog/secret_key, /secrets/blog/pgpass, /secrets/blog/redis_url
    /secrets/api/secret_key,  /secrets/api/pgpass,  /secrets/api/redis_url
    /secrets/db/postgres_password     the superuser's password (POSTGRES_PASSWORD_FILE)
    /secrets/db/<service>_password    each role's password, read by deploy/postgres/*.sh
    /secrets/redis/redis.conf         Redis's password (requirepass), the config file it starts with

An existing file is never replaced: the second `docker compose up` keeps every key, session and
password; `docker compose down -v` deletes the volumes and the next `up` makes new ones.
Nothing here is ever in the repository or an image layer.

`python deploy/init_secrets.py ROOT` does the same under another folder (used by nox -s smoke).
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path

SERVICES = ("auth", "blog", "api")


def write_once(path: Path, data: bytes, mode: int = 0o400) -> bool:
    """Create ``path`` with ``data`` readable by its owner only; False if it already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return True


def ensure_signing_key(directory: Path) -> bool:
    """Add a key to ``directory`` unless it already holds one (auth's own key writer)."""
    from auth_service.signing import write_private_key  # the auth image runs this script

    directory.mkdir(parents=True, exist_ok=True)
    if list(directory.glob("*.pem")):
        return False
    write_private_key(directory)
    return True


def new_totp_key() -> bytes:
    """A Fernet key (32 random bytes, url-safe base64) for auth's TOTP secrets at rest."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32))


def ensure_secrets(root: Path) -> list[str]:
    """Create whatever is missing under ``root``; return what was created."""
    created: list[str] = []

    def once(path: Path, data: bytes, mode: int = 0o400) -> None:
        if write_once(path, data, mode):
            created.append(str(path.relative_to(root)))

    # The database volume is read by the postgres image's user (another uid): world-readable,
    # but mounted into the postgres container only.
    db = root / "db"
    db.mkdir(parents=True, exist_ok=True)
    db.chmod(0o755)
    once(db / "postgres_password", secrets.token_hex(24).encode(), 0o444)
    # Redis (uid 999 in its image) reads its config file: world-readable like the database
    # passwords, in a volume mounted into the redis container only.
    redis = root / "redis"
    redis.mkdir(parents=True, exist_ok=True)
    redis.chmod(0o755)
    once(redis / "redis.conf", f"requirepass {secrets.token_hex(24)}\n".encode(), 0o444)
    redis_password = (redis / "redis.conf").read_text().split()[1]
    for service in SERVICES:
        password_file = db / f"{service}_password"
        once(password_file, secrets.token_hex(24).encode(), 0o444)
        password = password_file.read_text().strip()
        own = root / service
        once(own / "secret_key", secrets.token_urlsafe(48).encode())
        # libpq reads it through PGPASSFILE and refuses a file others can read: 0600.
        once(own / "pgpass", f"*:*:{service}:{service}:{password}\n".encode(), 0o600)
        once(own / "redis_url", f"redis://:{redis_password}@redis:6379/0".encode())
    once(root / "auth" / "totp_key", new_totp_key())
    if ensure_signing_key(root / "auth" / "signing-keys"):
        created.append("auth/signing-keys/*.pem")
    return created


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "/secrets")
    created = ensure_secrets(root)
    print(f"secrets: created {', '.join(created)}" if created else "secrets: all present, kept")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
