"""The HTML forms of the auth service (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

import re
from typing import Any

# Flask-WTF ships no type information: its classes are Any to mypy.
from flask_wtf import FlaskForm  # type: ignore[import-untyped]
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectMultipleField,
    StringField,
    SubmitField,
    widgets,
)

# SelectChoice is new in WTForms 3.3 (tuple choices are deprecated); types-WTForms predates it.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp

from auth_service.models import ROLES
from auth_service.passwords import MAX_LENGTH, password_problem

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$")
PASSWORD_LENGTH = Length(max=MAX_LENGTH, message=f"Use at most {MAX_LENGTH} characters.")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _lower_strip(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


class NewPasswordMixin:
    """Checks the ``password`` field against the password rules (see passwords.py)."""

    def check_new_password(self, password: str, *, username: str = "", email: str = "") -> bool:
        """Add the rule's message to the password field; False when refused."""
        problem = password_problem(password, username=username, email=email)
        if problem:
            field = self.password  # type: ignore[attr-defined]
            field.errors = [*field.errors, problem]
            return False
        return True


class RegisterForm(FlaskForm, NewPasswordMixin):  # type: ignore[misc]
    """A new account: username, email and a password typed twice."""

    username = StringField(
        "Username",
        filters=[_strip],
        validators=[
            DataRequired(),
            Regexp(
                USERNAME_PATTERN,
                message="3 to 32 letters, digits, dots, dashes or underscores.",
            ),
        ],
        render_kw={"autocomplete": "username"},
    )
    email = EmailField(
        "Email",
        filters=[_lower_strip],
        validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)],
        render_kw={"autocomplete": "email"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), PASSWORD_LENGTH],
        description="At least 8 characters. A few random words make a strong password.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Create account")

    def validate(self, extra_validators: Any = None) -> bool:
        """The field rules, then the password rules that need the other fields."""
        if not super().validate(extra_validators):
            return False
        return self.check_new_password(
            self.password.data or "", username=self.username.data or "", email=self.email.data or ""
        )


class LoginForm(FlaskForm):  # type: ignore[misc]
    """Log in with a username or an email address."""

    login = StringField(
        "Username or email",
        filters=[_strip],
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), PASSWORD_LENGTH],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Keep me logged in on this device")
    next = HiddenField()
    submit = SubmitField("Log in")


class ChangePasswordForm(FlaskForm, NewPasswordMixin):  # type: ignore[misc]
    """A new password, allowed only with the current one."""

    current_password = PasswordField(
        "Current password",
        validators=[DataRequired(), PASSWORD_LENGTH],
        render_kw={"autocomplete": "current-password"},
    )
    password = PasswordField(
        "New password",
        validators=[DataRequired(), PASSWORD_LENGTH],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Change password")


class ChangeEmailForm(FlaskForm):  # type: ignore[misc]
    """A new email address, confirmed with the current password."""

    email = EmailField(
        "New email",
        filters=[_lower_strip],
        validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)],
        render_kw={"autocomplete": "email"},
    )
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired(), PASSWORD_LENGTH],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Change email")


class DeactivateForm(FlaskForm):  # type: ignore[misc]
    """Deactivate one's own account, confirmed with the password."""

    current_password = PasswordField(
        "Current password",
        validators=[DataRequired(), PASSWORD_LENGTH],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Deactivate my account")


class LogoutForm(FlaskForm):  # type: ignore[misc]
    """Only a CSRF token and a button: logging out is a POST."""

    submit = SubmitField("Log out")


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (usable without JavaScript, unlike a multi-select)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class RolesForm(FlaskForm):  # type: ignore[misc]
    """An admin changes a user's roles; ``version`` refuses a stale form."""

    # Everyone is a reader: only the roles above it can be given or taken away.
    roles = MultiCheckboxField("Roles", choices=[SelectChoice(role) for role in ROLES[1:]])
    version = IntegerField(widget=widgets.HiddenInput(), validators=[DataRequired()])
    submit = SubmitField("Save roles")


class ActivationForm(FlaskForm):  # type: ignore[misc]
    """An admin deactivates or reactivates a user; ``version`` refuses a stale form."""

    version = IntegerField(widget=widgets.HiddenInput(), validators=[DataRequired()])
    submit = SubmitField()
