"""The account emails, one function each: build the signed link, compose the message.

Each returns outbox rows (see auth_service.mail.outbox) that the caller adds to the session
and commits together with the change the email is about.
"""

from __future__ import annotations

from flask import current_app

from auth_service.links import email_change_token, reset_token, verification_token
from auth_service.mail.models import OutboxMessage
from auth_service.mail.outbox import compose_mail, link
from auth_service.models import User


def _hours(setting: str) -> int:
    return max(1, int(current_app.config[setting]) // 3600)


def verification_mail(user: User) -> OutboxMessage:
    """A link that confirms the user's current address."""
    return compose_mail(
        "verify_email",
        user.email,
        "Confirm your email address",
        user=user,
        link=link("verification.verify", token=verification_token(user)),
        hours=_hours("EMAIL_LINK_MAX_AGE"),
    )


def password_reset_mail(user: User) -> OutboxMessage:
    """A link to choose a new password."""
    return compose_mail(
        "password_reset",
        user.email,
        "Reset your password",
        user=user,
        link=link("recovery.reset_password", token=reset_token(user)),
        minutes=max(1, int(current_app.config["PASSWORD_RESET_MAX_AGE"]) // 60),
    )


def password_changed_mail(user: User) -> OutboxMessage:
    """The notice that the password changed (by a reset or on the account page)."""
    return compose_mail(
        "password_changed",
        user.email,
        "Your password was changed",
        user=user,
        link=link("recovery.forgot_password"),
    )


def email_change_mails(user: User, new_email: str) -> list[OutboxMessage]:
    """A confirmation link to the new address, and a notice to the current one."""
    confirm = compose_mail(
        "email_change_confirm",
        new_email,
        "Confirm your new email address",
        user=user,
        new_email=new_email,
        link=link("verification.confirm_email_change", token=email_change_token(user, new_email)),
        hours=_hours("EMAIL_LINK_MAX_AGE"),
    )
    notice = compose_mail(
        "email_change_notice",
        user.email,
        "Your email address is about to change",
        user=user,
        new_email=new_email,
        link=link("recovery.forgot_password"),
    )
    return [confirm, notice]
