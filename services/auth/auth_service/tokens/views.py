"""``/account/tokens``: a user's personal access tokens, listed, created and revoked."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from auth_service.activity import record_event
from auth_service.extensions import db
from auth_service.forms import ConfirmForm, PersonalTokenForm
from auth_service.models import User
from auth_service.sessions import login_required
from auth_service.tokens import personal
from auth_service.tokens.models import PersonalToken

bp = Blueprint("tokens", __name__)


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


def _page(form: PersonalTokenForm | None = None, new_token: str | None = None) -> Response:
    user = _me()
    html = render_template(
        "tokens/tokens.html",
        form=form or PersonalTokenForm(formdata=None),
        revoke_form=ConfirmForm(formdata=None),
        tokens=personal.tokens_of(user),
        is_usable=personal.is_usable,
        new_token=new_token,
    )
    response = make_response(html)
    if new_token is not None:
        response.headers["Cache-Control"] = "no-store"  # the token text is shown once only
    return response


@bp.get("/account/tokens")
@login_required
def tokens() -> Response:
    """The user's tokens and the form that makes one."""
    return _page()


@bp.post("/account/tokens")
@login_required
def create() -> Response:
    """Make a token and show its text, this once."""
    form = PersonalTokenForm()
    if not form.validate_on_submit():
        return _page(form)
    user = _me()
    row, text = personal.create_token(
        user, form.name.data or "", form.scopes.data or [], timedelta(days=form.days.data)
    )
    record_event("token_created", user, token=row.id, token_name=row.name, scopes=row.scopes)
    return _page(new_token=text)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int) -> Response:
    """Revoke one of the user's own tokens (someone else's is 404, like a missing one)."""
    user = _me()
    row = db.session.get(PersonalToken, token_id)
    if row is None or row.user_id != user.id:
        abort(404, "There is no such token.")
    if ConfirmForm().validate_on_submit() and row.revoked_at is None:
        personal.revoke(row)
        record_event("token_revoked", user, token=row.id, token_name=row.name)
        flash(f"The token {row.name!r} is revoked: clients using it are refused now.", "success")
    return redirect(url_for("tokens.tokens"))
