"""Development only: set or clear the identity cookie without the auth service.

Registered only when the blog trusts its own development key (APP_ENV=development and no other
identity source). ``flask dev-login`` prints a URL to the sign-in page; the page shows who the
token names and sets the cookie only on a POST with a CSRF token (no GET changes state).
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from blog_service.forms import ConfirmForm
from servicekit.identity import get_verifier
from servicekit.identitycookie import clear_identity_cookie, set_identity_cookie
from servicekit.verifier import Identity, TokenError

bp = Blueprint("dev", __name__, url_prefix="/dev")


def _identity(token: str) -> Identity:
    try:
        return get_verifier().verify(token)
    except TokenError:
        abort(400, "That development token is invalid or expired; run `flask dev-login` again.")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Response | str:
    """Show who the token names; on POST, store it in the identity cookie."""
    token = request.values.get("token", "")
    identity = _identity(token)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("dev/sign_in.html", form=form, identity=identity, token=token)
    lifetime = max(0, int(identity.expires_at - identity.issued_at))
    return set_identity_cookie(redirect(url_for("posts.index")), token, max_age=lifetime)


@bp.route("/sign-out", methods=["GET", "POST"])
def sign_out() -> Response | str:
    """Ask for confirmation; on POST, clear the identity cookie."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("dev/sign_out.html", form=form)
    return clear_identity_cookie(redirect(url_for("posts.index")))
