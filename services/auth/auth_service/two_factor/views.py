"""Two-factor pages: turning it on (QR code, confirmation, recovery codes) and off, and the
second step of signing in."""

from __future__ import annotations

from flask import Blueprint, flash, g, make_response, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from auth_service.activity import record_event
from auth_service.extensions import db, limiter
from auth_service.forms import (
    RecoveryCodesForm,
    SecondStepForm,
    TwoFactorConfirmForm,
    TwoFactorDisableForm,
    TwoFactorStartForm,
)
from auth_service.models import User
from auth_service.passwords import verify_password
from auth_service.ratelimits import (
    config_limit,
    current_password_budget,
    failed_attempt,
    log_lockout,
)
from auth_service.redirects import safe_next_url
from auth_service.sessions import issue_identity_cookie, login_required, start_session
from auth_service.two_factor import pending
from auth_service.two_factor.codes import (
    check_second_factor,
    forget_two_factor,
    new_recovery_codes,
    new_secret,
    provisioning_uri,
    qr_code_svg,
    remaining_recovery_codes,
    use_totp,
)
from auth_service.two_factor.secret_box import decrypt, encrypt
from servicekit.clock import utcnow

bp = Blueprint("two_factor", __name__)

WRONG_CODE = "This code is not valid (or was used already). Use the current code from your app."


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


def _password_ok(form: TwoFactorConfirmForm | TwoFactorDisableForm | RecoveryCodesForm) -> bool:
    matches, _ = verify_password(_me().password_hash, form.current_password.data or "")
    if not matches:
        field = form.current_password
        field.errors = [*field.errors, "This is not your current password."]
    return matches


def _page(**context: object) -> str:
    user = _me()
    context.setdefault("start_form", TwoFactorStartForm(formdata=None))
    context.setdefault("confirm_form", TwoFactorConfirmForm(formdata=None))
    context.setdefault("disable_form", TwoFactorDisableForm(formdata=None))
    context.setdefault("recovery_form", RecoveryCodesForm(formdata=None))
    if user.two_factor_enabled:
        context["remaining"] = remaining_recovery_codes(user)
    elif user.totp_secret is not None:  # set up, waiting for the first code
        secret = decrypt(user.totp_secret)
        context["secret"] = secret
        context["qr_code"] = qr_code_svg(provisioning_uri(secret, user.username))
    return render_template("two_factor/manage.html", **context)


@bp.get("/account/two-factor")
@login_required
def manage() -> str:
    """Two-factor status, and the forms that change it."""
    return _page()


@bp.post("/account/two-factor/setup")
@login_required
def setup() -> Response:
    """A new secret to scan; two-factor stays off until a code from it is confirmed."""
    form = TwoFactorStartForm()
    user = _me()
    if form.validate_on_submit() and not user.two_factor_enabled:
        user.totp_secret = encrypt(new_secret())
        user.totp_last_step = None
        db.session.commit()
    return redirect(url_for("two_factor.manage"))


@bp.post("/account/two-factor/confirm")
@login_required
@current_password_budget
def confirm() -> Response | str:
    """Turn two-factor on with one valid code, and show the recovery codes, once."""
    form = TwoFactorConfirmForm()
    user = _me()
    if user.two_factor_enabled or user.totp_secret is None:
        return redirect(url_for("two_factor.manage"))
    if form.validate_on_submit() and _password_ok(form):
        if use_totp(user, form.code.data or "", secret=decrypt(user.totp_secret)):
            user.totp_enabled_at = utcnow()
            db.session.commit()
            record_event("two_factor_enabled", user)
            return _show_recovery_codes(user)
        form.code.errors = [*form.code.errors, WRONG_CODE]
    return _page(confirm_form=form)


def _show_recovery_codes(user: User) -> Response:
    codes = new_recovery_codes(user)
    response = make_response(render_template("two_factor/recovery_codes.html", codes=codes))
    response.headers["Cache-Control"] = "no-store"  # shown once: never from a cache
    return response


@bp.post("/account/two-factor/recovery-codes")
@login_required
@current_password_budget
def renew_recovery_codes() -> Response | str:
    """Ten new recovery codes (the old ones stop working), with the password and a TOTP code."""
    form = RecoveryCodesForm()
    user = _me()
    if not user.two_factor_enabled:
        return redirect(url_for("two_factor.manage"))
    if form.validate_on_submit() and _password_ok(form):
        if use_totp(user, form.code.data or ""):
            record_event("recovery_codes_renewed", user)
            return _show_recovery_codes(user)
        form.code.errors = [*form.code.errors, WRONG_CODE]
    return _page(recovery_form=form)


@bp.post("/account/two-factor/disable")
@login_required
@current_password_budget
def disable() -> Response | str:
    """Turn two-factor off, with the password and a code (or a recovery code)."""
    form = TwoFactorDisableForm()
    user = _me()
    if not user.two_factor_enabled:
        return redirect(url_for("two_factor.manage"))
    if form.validate_on_submit() and _password_ok(form):
        if check_second_factor(user, form.code.data or "") is not None:
            forget_two_factor(user)
            record_event("two_factor_disabled", user)
            flash("Two-factor sign-in is off. Your password alone now signs you in.", "info")
            return redirect(url_for("two_factor.manage"))
        form.code.errors = [*form.code.errors, WRONG_CODE]
    return _page(disable_form=form)


@bp.route("/login/two-factor", methods=["GET", "POST"])
@limiter.limit(config_limit("LOGIN_RATE_LIMIT_IP"), methods=["POST"], on_breach=log_lockout)
@limiter.limit(
    config_limit("TWO_FACTOR_RATE_LIMIT"),
    key_func=pending.rate_limit_key,
    methods=["POST"],
    deduct_when=failed_attempt,
    on_breach=log_lockout,
)
def login() -> Response | str:
    """The second step of signing in: a code after the right password."""
    user = pending.pending_user()
    if user is None:
        pending.finish()
        flash("Your sign-in expired or was interrupted. Please sign in again.", "info")
        return redirect(url_for("accounts.login"))
    form = SecondStepForm()
    if form.validate_on_submit():
        method = check_second_factor(user, form.code.data or "")
        if method is None:
            g.credentials_failed = True  # counts against TWO_FACTOR_RATE_LIMIT
            record_event("two_factor_failed", user)
            form.code.errors = [*form.code.errors, WRONG_CODE]
        else:
            state = pending.finish() or {}
            start_session(user, remember=bool(state.get("remember")), method=method)
            if method == "recovery_code":
                left = remaining_recovery_codes(user)
                record_event("recovery_code_used", user, remaining=left)
                flash(f"You used a recovery code; {left} are left.", "warning")
            target = safe_next_url(state.get("next"))
            return issue_identity_cookie(redirect(target), user)
    return render_template("two_factor/login.html", form=form)
