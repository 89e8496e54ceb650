"""Registration, login (with silent identity re-issue), logout and the account page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from auth_service.accounts.lookup import find_user
from auth_service.activity import recent_events, record_event
from auth_service.emails import email_change_mails, password_changed_mail, verification_mail
from auth_service.events import auth_event
from auth_service.extensions import db, limiter
from auth_service.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    ConfirmForm,
    DeactivateForm,
    LoginForm,
    LogoutForm,
    RegisterForm,
    ResendVerificationForm,
)
from auth_service.models import User, new_session_token
from auth_service.passwords import hash_password, verify_password
from auth_service.ratelimits import (
    account_budget,
    config_limit,
    current_password_budget,
    log_lockout,
)
from auth_service.redirects import safe_next_url
from auth_service.sessions import (
    active_devices,
    end_all_sessions,
    issue_identity_cookie,
    log_out_here,
    login_required,
    start_session,
)
from auth_service.two_factor import pending
from servicekit.identitycookie import clear_identity_cookie

bp = Blueprint("accounts", __name__)

INVALID_CREDENTIALS = "Invalid username or password."


def check_credentials(login: str, password: str) -> User | None:
    """The active user these credentials belong to, or None (same cost whatever the reason).

    The caller's view carries the per-account budget (ratelimits.account_budget), counted
    before this runs. Upgrades the stored hash when it was made with older argon2 parameters
    or before passwords were normalised.
    """
    user = find_user(login)
    matches, new_hash = verify_password(user.password_hash if user else None, password)
    if user is None or not matches or not user.active:
        if user is None:
            auth_event("login_failed", None, known_account=False)
        else:  # the owner sees it in their security activity
            record_event("login_failed", user, known_account=True)
        return None
    if new_hash is not None:
        user.password_hash = new_hash
        db.session.commit()
        auth_event("password_rehashed", user)
    return user


@bp.get("/")
def index() -> Response:
    """The service's home: the account page, or the login page."""
    return redirect(url_for("accounts.account"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(config_limit("REGISTER_RATE_LIMIT_IP"), methods=["POST"], on_breach=log_lockout)
def register() -> Response | str:
    """Create an account (role: reader), log it in and go on to ``next`` (as the login does)."""
    if current_user.is_authenticated:
        return redirect(safe_next_url(request.args.get("next")))
    form = RegisterForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        username = form.username.data or ""
        email = form.email.data or ""
        if find_user(username) is not None:
            form.username.errors = [*form.username.errors, "This username is taken."]
        elif find_user(email) is not None:
            form.email.errors = [*form.email.errors, "An account already uses this email."]
        else:
            user = User(
                username=username,
                email=email,
                password_hash=hash_password(form.password.data or ""),
                session_token=new_session_token(),
            )
            db.session.add(user)
            try:
                db.session.flush()  # the user's id, for the verification link
                # In the same transaction: the account and its verification email, or neither.
                db.session.add(verification_mail(user))
                db.session.commit()
            except IntegrityError:  # someone took the name or email a moment ago
                db.session.rollback()
                form.username.errors = [
                    *form.username.errors,
                    "This username or email was just taken. Choose another.",
                ]
                return render_template("accounts/register.html", form=form)
            auth_event("registered", user)
            start_session(user, remember=False, method="registration")
            flash(
                f"Welcome! Your account is ready. We sent a link to {user.email} to verify it.",
                "success",
            )
            return issue_identity_cookie(redirect(safe_next_url(form.next.data)), user)
    return render_template("accounts/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(config_limit("LOGIN_RATE_LIMIT_IP"), methods=["POST"], on_breach=log_lockout)
@account_budget
def login() -> Response | str:
    """Sign in; a user whose auth session is still valid gets a fresh identity cookie at once.

    That is the single sign-on round trip: blog sends a browser whose identity cookie expired
    to ``/auth/login?next=<blog URL>`` and gets it straight back with a new cookie.
    """
    if request.method == "GET" and current_user.is_authenticated:
        target = safe_next_url(request.args.get("next"))
        return issue_identity_cookie(redirect(target), current_user)
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = check_credentials(form.username.data or "", form.password.data or "")
        if user is None:
            form.password.errors = [*form.password.errors, INVALID_CREDENTIALS]
        elif user.two_factor_enabled:  # the password was right; now the code
            pending.begin(user, remember=bool(form.remember.data), next_url=form.next.data or "")
            return redirect(url_for("two_factor.login"))
        else:
            start_session(user, remember=bool(form.remember.data))
            return issue_identity_cookie(redirect(safe_next_url(form.next.data)), user)
    return render_template("accounts/login.html", form=form)


@bp.get("/logout")
def confirm_logout() -> str:
    """Ask before signing out. Other services link here: only auth can render its CSRF token,
    and a GET must never change state, so the logout itself is the form's POST."""
    return render_template("accounts/logout.html", form=LogoutForm())


@bp.post("/logout")
def logout() -> Response:
    """End every session and token of the user (POST with CSRF: a link cannot log you out)."""
    form = LogoutForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        user = current_user._get_current_object()
        end_all_sessions(user, "logout")
        log_out_here()
        auth_event("logout", user)
        flash("You are signed out.", "info")
    return clear_identity_cookie(redirect(url_for("accounts.login")))


def _account_page(**forms: object) -> str:
    user: User = current_user._get_current_object()
    context = {
        "password_form": ChangePasswordForm(formdata=None),
        "email_form": ChangeEmailForm(formdata=None),
        "deactivate_form": DeactivateForm(formdata=None),
        "confirm_form": ConfirmForm(formdata=None),
        "devices": active_devices(user.id),
        "events": recent_events(user.id),
        "resend_form": ResendVerificationForm(formdata=None),
    }
    context.update(forms)
    return render_template("accounts/account.html", **context)


def _current_password_ok(field_form: ChangePasswordForm | ChangeEmailForm | DeactivateForm) -> bool:
    matches, _ = verify_password(current_user.password_hash, field_form.current_password.data or "")
    if not matches:
        field = field_form.current_password
        field.errors = [*field.errors, "This is not your current password."]
    return matches


@bp.get("/account")
@login_required
def account() -> str:
    """The signed-in user's account page."""
    return _account_page()


@bp.post("/account/password")
@login_required
@current_password_budget
def change_password() -> Response | str:
    """A new password: every other session and token of the user ends."""
    form = ChangePasswordForm()
    user: User = current_user._get_current_object()
    if (
        form.validate_on_submit()
        and _current_password_ok(form)
        and form.check_new_password(
            form.password.data or "", username=user.username, email=user.email
        )
    ):
        user.password_hash = hash_password(form.password.data or "")
        db.session.add(password_changed_mail(user))
        end_all_sessions(user, "password_changed")  # commits the password and the notice
        record_event("password_changed", user)
        start_session(user, remember=False, method=None)
        flash("Your password was changed. Other devices have been signed out.", "success")
        return issue_identity_cookie(redirect(url_for("accounts.account")), user)
    return _account_page(password_form=form)


@bp.post("/account/email")
@login_required
@current_password_budget
def change_email() -> Response | str:
    """Ask for a new address (with the password): it applies when the link sent to it is
    followed (auth_service.verification); the current address gets a notice."""
    form = ChangeEmailForm()
    user: User = current_user._get_current_object()
    if form.validate_on_submit() and _current_password_ok(form):
        email = form.email.data or ""
        owner = find_user(email)
        if owner is not None and owner.id != user.id:
            form.email.errors = [*form.email.errors, "An account already uses this email."]
        elif email == user.email:
            form.email.errors = [*form.email.errors, "This is your address already."]
        else:
            db.session.add_all(email_change_mails(user, email))
            db.session.commit()
            record_event("email_change_requested", user, new_domain=email.rpartition("@")[2])
            flash(f"We sent a link to {email}: your address changes when you follow it.", "info")
            return redirect(url_for("accounts.account"))
    return _account_page(email_form=form)


@bp.post("/account/deactivate")
@login_required
@current_password_budget
def deactivate() -> Response | str:
    """Deactivate one's own account: signed out everywhere, no login until an admin reactivates."""
    form = DeactivateForm()
    user: User = current_user._get_current_object()
    if form.validate_on_submit() and _current_password_ok(form):
        user.active = False
        end_all_sessions(user, "deactivated")
        log_out_here()
        record_event("deactivated", user, by=user.id)
        flash("Your account is deactivated. An administrator can reactivate it.", "info")
        return clear_identity_cookie(redirect(url_for("accounts.login")))
    return _account_page(deactivate_form=form)
