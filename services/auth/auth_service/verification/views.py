"""Following an emailed link: verify an address, confirm an email change; resend the link.

An emailed link opens a page with one button: the change itself is that form's POST (with
CSRF), because a GET never changes state and mail scanners open links on their own.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from auth_service.accounts.lookup import find_user
from auth_service.activity import record_event
from auth_service.emails import verification_mail
from auth_service.events import auth_event
from auth_service.extensions import db, limiter
from auth_service.forms import ConfirmForm, ResendVerificationForm
from auth_service.links import email_change_for, user_for_verification
from auth_service.ratelimits import config_limit, get_remote_address, log_lockout
from auth_service.sessions import login_required
from servicekit.clock import utcnow

bp = Blueprint("verification", __name__)


def _invalid_link() -> tuple[str, int]:
    return render_template("recovery/link_invalid.html", purpose="email"), 400


def _after() -> Response:
    """Back to the account page when signed in, else to sign in."""
    target = "accounts.account" if current_user.is_authenticated else "accounts.login"
    return redirect(url_for(target))


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify(token: str) -> Response | tuple[str, int] | str:
    """Confirm the address a verification link was sent to."""
    user = user_for_verification(token)
    if user is None:
        return _invalid_link()
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template(
            "verification/confirm.html", form=form, user=user, action="verify", email=user.email
        )
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        record_event("email_verified", user)  # commits the verification with it
    flash(f"Thank you: {user.email} is verified.", "success")
    return _after()


def _user_key() -> str:
    """Rate-limit key of the resend button: the signed-in user (anyone else: their address)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


@bp.post("/account/verification")
@login_required
@limiter.limit(config_limit("VERIFICATION_RATE_LIMIT"), key_func=_user_key, on_breach=log_lockout)
def resend() -> Response:
    """Send the verification link again (rate-limited per user)."""
    form = ResendVerificationForm()
    user = current_user._get_current_object()
    if form.validate_on_submit() and not user.email_verified:
        db.session.add(verification_mail(user))
        db.session.commit()
        auth_event("verification_sent", user)
        flash(f"A new link is on its way to {user.email}.", "info")
    return redirect(url_for("accounts.account"))


@bp.route("/account/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email_change(token: str) -> Response | tuple[str, int] | str:
    """Apply an email change: only now, from the link sent to the new address."""
    found = email_change_for(token)
    if found is None:
        return _invalid_link()
    user, new_email = found
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template(
            "verification/confirm.html", form=form, user=user, action="change", email=new_email
        )
    owner = find_user(new_email)
    if owner is not None and owner.id != user.id:
        flash("Another account uses this address now: the change cannot apply.", "error")
        return render_template("recovery/link_invalid.html", purpose="email"), 409
    before = user.email
    user.email = new_email
    user.email_verified_at = utcnow()  # the link reached this address: it is proven
    try:
        db.session.commit()
    except IntegrityError:  # someone took the address a moment ago
        db.session.rollback()
        flash("Another account uses this address now: the change cannot apply.", "error")
        return render_template("recovery/link_invalid.html", purpose="email"), 409
    record_event("email_changed", user, before_domain=before.rpartition("@")[2])
    flash(f"Your email address is now {new_email}.", "success")
    return _after()
