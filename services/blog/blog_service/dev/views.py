"""Development only: set or clear the identity cookie without the auth service.

Registered only when the blog trusts its own development key (APP_ENV=development and no other
identity source); the header's "Sign in" link leads here then. The sign-in page either mints a
token for the name and roles given in its form, or, opened with the ``?token=`` link that
``flask dev-login`` prints, shows who that token names. The cookie is set only on a POST with a
CSRF token (no GET changes state).
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from blog_service.forms import ConfirmForm, DevSignInForm
from servicekit.devidentity import mint_development_token
from servicekit.identity import get_verifier
from servicekit.identitycookie import clear_identity_cookie, set_identity_cookie
from servicekit.redirects import same_origin_path
from servicekit.verifier import Identity, TokenError

bp = Blueprint("dev", __name__, url_prefix="/dev")

#: how long a development sign-in lasts
LIFETIME_SECONDS = 8 * 3600


def _identity(token: str) -> Identity:
    try:
        return get_verifier().verify(token)
    except TokenError:
        abort(400, "That development token is invalid or expired; run `flask dev-login` again.")


def _signed_in(token: str, identity: Identity, next_path: str | None) -> Response:
    lifetime = max(0, int(identity.expires_at - identity.issued_at))
    target = same_origin_path(next_path) or url_for("posts.index")
    return set_identity_cookie(redirect(target), token, max_age=lifetime)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Response | str:
    """Choose a name and roles (or confirm a ``flask dev-login`` token); on POST, sign in."""
    token = request.values.get("token", "")
    if token:
        identity = _identity(token)
        confirm = ConfirmForm()
        if not confirm.validate_on_submit():
            return render_template("dev/sign_in.html", form=confirm, identity=identity, token=token)
        return _signed_in(token, identity, None)

    form = DevSignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if not form.validate_on_submit():
        return render_template("dev/sign_in.html", form=form, identity=None, token="")
    name = (form.name.data or "").strip()
    roles = ["reader"] + ["author"] * bool(form.author.data) + ["admin"] * bool(form.admin.data)
    token = mint_development_token(
        current_app.config,
        current_app.instance_path,
        sub="dev-" + (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "user"),
        name=name,
        roles=roles,
        lifetime_seconds=LIFETIME_SECONDS,
    )
    return _signed_in(token, get_verifier().verify(token), form.next.data)


@bp.route("/sign-out", methods=["GET", "POST"])
def sign_out() -> Response | str:
    """Ask for confirmation; on POST, clear the identity cookie."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("dev/sign_out.html", form=form)
    return clear_identity_cookie(redirect(url_for("posts.index")))
