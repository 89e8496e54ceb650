"""Ending signed-in sessions from the account page: one device, or every device but this one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from auth_service.activity import record_event
from auth_service.devices.models import Device
from auth_service.extensions import db
from auth_service.forms import ConfirmForm
from auth_service.models import User
from auth_service.sessions import (
    active_devices,
    end_devices,
    log_out_here,
    login_required,
)
from servicekit.identitycookie import clear_identity_cookie

bp = Blueprint("devices", __name__)


@bp.post("/account/sessions/<int:device_id>/end")
@login_required
def end(device_id: int) -> Response:
    """Sign out one of the user's own devices (another user's is 404, like a missing one)."""
    user: User = current_user._get_current_object()
    device = db.session.get(Device, device_id)
    if device is None or device.user_id != user.id or device.ended_at is not None:
        abort(404, "There is no such signed-in session.")
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("accounts.account"))
    this_one = device.key == user.device_key
    end_devices(user, [device])
    record_event("session_ended", user, device=device.id, this_device=this_one)
    if this_one:
        log_out_here()
        flash("You are signed out on this device.", "info")
        return clear_identity_cookie(redirect(url_for("accounts.login")))
    flash("That device is signed out.", "success")
    return redirect(url_for("accounts.account"))


@bp.post("/account/sessions/end-others")
@login_required
def end_others() -> Response:
    """Sign out every device of the user except this one."""
    user: User = current_user._get_current_object()
    if ConfirmForm().validate_on_submit():
        others = [device for device in active_devices(user.id) if device.key != user.device_key]
        end_devices(user, others)
        record_event("session_ended", user, devices=len(others), all_others=True)
        flash(f"Signed out {len(others)} other session(s).", "success")
    return redirect(url_for("accounts.account"))
