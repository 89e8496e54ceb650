"""Admin pages: every user, paginated and searchable; roles; deactivation and reactivation."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from auth_service.activity import recent_events, record_event
from auth_service.extensions import db, login_manager
from auth_service.forms import ActivationForm, RolesForm
from auth_service.mail.models import FAILED, PENDING, OutboxMessage
from auth_service.models import User
from auth_service.permissions import (
    can_administer,
    can_deactivate,
    needs_verified_email,
    removes_last_admin,
)
from auth_service.sessions import end_all_sessions
from servicekit.inputs import page_number

bp = Blueprint("admin", __name__, url_prefix="/admin")

STALE_MESSAGE = "Someone changed this user while you were looking. Review and try again."


@bp.before_request
def require_admin() -> Response | None:
    """Every admin page: signed in (else the login page), with the admin role (else 403)."""
    if not current_user.is_authenticated:
        unauthorized: Response = login_manager.unauthorized()
        return unauthorized
    if not can_administer(current_user):
        abort(403, "This page is for administrators.")
    return None


def _get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, "There is no such user.")
    return user


@bp.get("/users")
def users() -> str:
    """Every user, newest first; ``q`` searches usernames and emails."""
    search = request.args.get("q", "").strip()[:100]
    query = select(User).order_by(User.id.desc())
    if search:
        # autoescape: a % or _ typed in the search box is a character, not a wildcard.
        needle = search.lower()
        query = query.where(
            or_(
                func.lower(User.username).contains(needle, autoescape=True),
                User.email.contains(needle, autoescape=True),
            )
        )
    page = db.paginate(
        query,
        page=page_number(),
        per_page=current_app.config["USERS_PER_PAGE"],
        max_per_page=100,
        error_out=False,
    )
    return render_template("admin/users.html", page=page, search=search)


def _user_page(user: User, status: int = 200, **forms: object) -> tuple[str, int]:
    context: dict[str, object] = {
        "events": recent_events(user.id),
        "roles_form": RolesForm(formdata=None, roles=user.roles, version=user.version),
        "activation_form": ActivationForm(formdata=None, version=user.version),
    }
    context.update(forms)
    return render_template("admin/user.html", user=user, **context), status


@bp.get("/users/<int:user_id>")
def user(user_id: int) -> tuple[str, int]:
    """One user, with the forms that change them."""
    return _user_page(_get_user(user_id))


def _conflict(user: User, message: str = STALE_MESSAGE) -> tuple[str, int]:
    """409: the change was refused; the page shows the user as they are now."""
    flash(message, "error")
    return _user_page(user, 409)


def _save(user: User, reason: str) -> bool:
    """End the user's sessions (their roles or status changed) and commit; False if stale."""
    try:
        end_all_sessions(user, reason)
    except StaleDataError:
        db.session.rollback()
        return False
    return True


@bp.post("/users/<int:user_id>/roles")
def change_roles(user_id: int) -> Response | tuple[str, int]:
    """Set a user's roles. Their sessions and tokens end, so the new roles apply at once."""
    user = _get_user(user_id)
    form = RolesForm()
    if not form.validate_on_submit():
        return _user_page(user, 400, roles_form=form)
    if form.version.data != user.version:
        return _conflict(user)
    roles = set(form.roles.data or [])
    if needs_verified_email(user, roles):
        return _conflict(user, f"{user.username} must verify their email address first.")
    if removes_last_admin(user, roles):
        return _conflict(user, "This is the last active admin: make someone else admin first.")
    before = user.roles
    user.roles = roles
    if not _save(user, "roles_changed"):
        return _conflict(_get_user(user_id))
    record_event("roles_changed", user, before=before, after=user.roles, by=current_user.id)
    flash(f"Roles of {user.username} saved: {', '.join(user.roles)}.", "success")
    return redirect(url_for("admin.user", user_id=user.id))


@bp.post("/users/<int:user_id>/activation")
def change_activation(user_id: int) -> Response | tuple[str, int]:
    """Deactivate an active user (ending their sessions) or reactivate an inactive one."""
    user = _get_user(user_id)
    form = ActivationForm()
    if not form.validate_on_submit():
        return _user_page(user, 400, activation_form=form)
    if form.version.data != user.version:
        return _conflict(user)
    if user.active:
        if not can_deactivate(current_user, user):
            return _conflict(user, "Deactivate your own account from your account page.")
        user.active = False
        event = "deactivated"
    else:
        user.active = True
        event = "reactivated"
    if not _save(user, event):
        return _conflict(_get_user(user_id))
    record_event(event, user, by=current_user.id)
    flash(f"{user.username} is {'active' if user.active else 'deactivated'}.", "success")
    return redirect(url_for("admin.user", user_id=user.id))


@bp.get("/mail")
def mail() -> str:
    """Outgoing email: messages that failed for good (newest first), and how many wait."""
    failed = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == FAILED)
        .order_by(OutboxMessage.id.desc())
        .limit(100)
    ).all()
    pending = db.session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.status == PENDING)
    )
    return render_template("admin/mail.html", failed=failed, pending=pending or 0)
