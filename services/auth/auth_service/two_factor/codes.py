"""Checking the second factor: a TOTP code from the user's app, or a recovery code.

A TOTP code is accepted in the 30-second step it was made for and one step either side (phone
clocks drift), and only if that step is later than the last one accepted: the check and the
update are one conditional UPDATE, so two requests racing with one code cannot both win.
"""

from __future__ import annotations

import hmac
import secrets
import time

import pyotp
import segno
from flask import current_app
from markupsafe import Markup
from sqlalchemy import delete, func, or_, select, update

from auth_service.digests import digest
from auth_service.extensions import db
from auth_service.models import User
from auth_service.two_factor.models import RecoveryCode
from auth_service.two_factor.secret_box import decrypt
from servicekit.clock import utcnow

RECOVERY_CODE_COUNT = 10
#: Lower-case letters and digits without the look-alikes (0/o, 1/l/i): 31 symbols; 16 of them
#: make about 79 bits, beyond any guessing.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 16


def new_secret() -> str:
    """A fresh TOTP secret: 160 random bits in base32, as authenticator apps expect."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    issuer = current_app.config["TWO_FACTOR_ISSUER"]
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def qr_code_svg(uri: str) -> Markup:
    """``uri`` as an inline SVG QR code: no script, no style attribute, nothing the CSP refuses."""
    code = segno.make(uri, error="m")
    svg = code.svg_inline(scale=5, light="#fff", title="QR code for your authenticator app")
    return Markup(svg)  # noqa: S704 - segno's own markup, with no user input in it


def _digits(code: str) -> str:
    return "".join(code.split())


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step ``code`` was made for (this one or a neighbour), or None."""
    code = _digits(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // totp.interval)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def use_totp(user: User, code: str, secret: str | None = None) -> bool:
    """Accept ``code`` once: True and the step remembered, or False (wrong, or replayed).

    ``secret`` is the pending one while two-factor is being confirmed; otherwise the user's.
    Commits.
    """
    if secret is None:
        if user.totp_secret is None:
            return False
        secret = decrypt(user.totp_secret)
    step = matching_step(secret, code)
    if step is None:
        return False
    claimed = db.session.execute(
        update(User)
        .where(User.id == user.id)
        .where(or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(getattr(claimed, "rowcount", 0) == 1)


def normalise_recovery_code(code: str) -> str:
    """Recovery codes are shown in groups (``abcd-efgh-...``); any case and separators match."""
    return "".join(ch for ch in code.lower() if ch.isalnum())


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones; returns them, shown once. Commits."""
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=digest(code)) for code in codes)
    db.session.commit()
    return ["-".join(code[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4)) for code in codes]


def use_recovery_code(user: User, code: str) -> bool:
    """Spend one unused recovery code: True once per code (a conditional UPDATE). Commits."""
    normal = normalise_recovery_code(code)
    if len(normal) != RECOVERY_LENGTH:
        return False
    spent = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == digest(normal))
        .where(RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    db.session.commit()
    return bool(getattr(spent, "rowcount", 0) == 1)


def remaining_recovery_codes(user: User) -> int:
    """How many recovery codes the user has left."""
    query = select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
    )
    return db.session.scalar(query) or 0


def check_second_factor(user: User, code: str) -> str | None:
    """How ``code`` proves the second factor: ``"two_factor"`` (a TOTP code),
    ``"recovery_code"``, or None when it does not."""
    if use_totp(user, code):
        return "two_factor"
    if use_recovery_code(user, code):
        return "recovery_code"
    return None


def forget_two_factor(user: User) -> None:
    """Turn two-factor off: the secret, the last step and every recovery code go. Commits."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.commit()
