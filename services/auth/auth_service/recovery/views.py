"""Forgotten passwords: ask for a link by email, choose a new password from it.

The forgot form answers the same whether or not the account exists, and does the same work
either way (look-up, token, rendering, a commit): only the outbox row is left out. A reset ends
every session, remember-me cookie and identity token of the user, like a password change.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from auth_service.accounts.lookup import find_user, login_key
from auth_service.activity import record_event
from auth_service.emails import password_changed_mail, password_reset_mail
from auth_service.events import auth_event
from auth_service.extensions import db, limiter
from auth_service.forms import ForgotPasswordForm, ResetPasswordForm
from auth_service.links import user_for_reset
from auth_service.models import User
from auth_service.passwords import hash_password
from auth_service.ratelimits import config_limit, log_lockout
from auth_service.sessions import end_all_sessions

bp = Blueprint("recovery", __name__, url_prefix="/password")

SENT_MESSAGE = (
    "If an account has this name or address, a link to choose a new password is on its way "
    "to its email address."
)


def _stand_in() -> User:
    """A user that exists nowhere, to do an unknown account's work at the same cost."""
    return User(id=0, username="nobody", email="nobody@invalid", password_hash="-")  # noqa: S106 - no password: a placeholder no hash matches


def typed_name() -> str:
    """Rate-limit key of the forgot form: the name typed, whether or not an account has it.

    Not the account's id: if "alice" and "alice@example.com" shared one budget, exhausting one
    and trying the other would tell which address belongs to which username.
    """
    return f"password-reset:{login_key(request.form.get('login', ''))[:320]}"


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(
    config_limit("PASSWORD_RESET_RATE_LIMIT_IP"), methods=["POST"], on_breach=log_lockout
)
@limiter.limit(
    config_limit("PASSWORD_RESET_RATE_LIMIT_ACCOUNT"),
    key_func=typed_name,
    methods=["POST"],
    on_breach=log_lockout,
)
def forgot_password() -> Response | str:
    """Email a reset link to the account named, if there is one; the same answer either way."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = find_user(form.login.data or "")
        known = user is not None and user.active
        message = password_reset_mail(user if user is not None and known else _stand_in())
        if user is not None and known:
            db.session.add(message)
            record_event("password_reset_requested", user)  # commits the message with it
        else:
            db.session.commit()  # the same round trip, with nothing in it
            auth_event("password_reset_requested", None, known_account=False)
        flash(SENT_MESSAGE, "info")
        return redirect(url_for("accounts.login"))
    return render_template("recovery/forgot.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response | tuple[str, int] | str:
    """Choose a new password with a valid link; every session and token of the user ends."""
    user = user_for_reset(token)
    if user is None:
        auth_event("password_reset_link_refused")
        return render_template("recovery/link_invalid.html", purpose="reset"), 400
    form = ResetPasswordForm()
    if form.validate_on_submit() and form.check_new_password(
        form.password.data or "", username=user.username, email=user.email
    ):
        user.password_hash = hash_password(form.password.data or "")
        db.session.add(password_changed_mail(user))
        end_all_sessions(user, "password_reset")  # commits the password and the notice
        record_event("password_reset", user)
        flash("Your password was changed and every device signed out. Sign in with it.", "success")
        return redirect(url_for("accounts.login"))
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
    return render_template("recovery/reset.html", form=form, user=user, minutes=minutes)
