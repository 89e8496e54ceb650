"""The HTML forms of the auth service (Flask-WTF: every one carries a CSRF token)."""

# length: every form auth shows, one class each; split by feature they would import each other's
# validators.
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
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    widgets,
)

# SelectChoice is new in WTForms 3.3 (tuple choices are deprecated); types-WTForms predates it.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, Regexp

from auth_service.accounts.lookup import normalize_name
from auth_service.passwords import MAX_LENGTH, password_problem
from auth_service.tokens.scopes import SCOPES
from servicekit.claims import ROLES

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$")
PASSWORD_LENGTH = Length(max=MAX_LENGTH, message=f"Use at most {MAX_LENGTH} characters.")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _normalize(value: Any) -> Any:
    """NFKC and stripped: a full-width or composed spelling becomes the plain one."""
    return normalize_name(value) if isinstance(value, str) else value


def _normalize_lower(value: Any) -> Any:
    return normalize_name(value).lower() if isinstance(value, str) else value


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
        filters=[_normalize],
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
        filters=[_normalize_lower],
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
    #: Where the visitor was headed (from the login page's Register link): as the login's.
    next = HiddenField()
    submit = SubmitField("Create account")

    def validate(self, extra_validators: Any = None) -> bool:
        """The field rules, then the password rules that need the other fields."""
        if not super().validate(extra_validators):
            return False
        return self.check_new_password(
            self.password.data or "", username=self.username.data or "", email=self.email.data or ""
        )


class LoginForm(FlaskForm):  # type: ignore[misc]
    """Sign in with a username or an email address.

    The fields have the token API's names (``username``, ``password``), so a program or a
    password manager needs one vocabulary for both.
    """

    username = StringField(
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
    remember = BooleanField("Keep me signed in on this device")
    next = HiddenField()
    submit = SubmitField("Sign in")


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
        filters=[_normalize_lower],
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


class ForgotPasswordForm(FlaskForm):  # type: ignore[misc]
    """Ask for a reset link, by username or email address."""

    login = StringField(
        "Username or email",
        filters=[_strip],
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    submit = SubmitField("Email me a link")


class ResetPasswordForm(FlaskForm, NewPasswordMixin):  # type: ignore[misc]
    """A new password, chosen from the link of a reset email."""

    password = PasswordField(
        "New password",
        validators=[DataRequired(), PASSWORD_LENGTH],
        description="At least 8 characters. A few random words make a strong password.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Set the new password")


class ResendVerificationForm(FlaskForm):  # type: ignore[misc]
    """Send the verification link again."""

    submit = SubmitField("Send the link again")


class LogoutForm(FlaskForm):  # type: ignore[misc]
    """Only a CSRF token and a button: signing out is a POST."""

    submit = SubmitField("Sign out")


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


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    """Only a CSRF token and a button, for actions that need nothing else: ending a session,
    or what an emailed link is about (the link opens a page; the change is this form's POST)."""

    submit = SubmitField("Confirm")


def _code_field(label: str) -> StringField:
    return StringField(
        label,
        filters=[_strip],
        validators=[DataRequired(), Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "none"},
    )


def _current_password_field() -> PasswordField:
    return PasswordField(
        "Current password",
        validators=[DataRequired(), PASSWORD_LENGTH],
        render_kw={"autocomplete": "current-password"},
    )


class TwoFactorStartForm(FlaskForm):  # type: ignore[misc]
    """Make a new secret to scan."""

    submit = SubmitField("Set up two-factor sign-in")


class TwoFactorConfirmForm(FlaskForm):  # type: ignore[misc]
    """Turn two-factor on: one valid code proves the app has the secret; the password proves
    it is the owner (not someone at an unlocked computer) who turns it on."""

    code = _code_field("6-digit code from your app")
    current_password = _current_password_field()
    submit = SubmitField("Turn on two-factor sign-in")


class TwoFactorDisableForm(FlaskForm):  # type: ignore[misc]
    """Turn two-factor off: both factors are needed."""

    code = _code_field("Code from your app, or a recovery code")
    current_password = _current_password_field()
    submit = SubmitField("Turn off two-factor sign-in")


class RecoveryCodesForm(FlaskForm):  # type: ignore[misc]
    """New recovery codes replace the old ones: both factors are needed."""

    code = _code_field("Code from your app")
    current_password = _current_password_field()
    submit = SubmitField("Make new recovery codes")


class SecondStepForm(FlaskForm):  # type: ignore[misc]
    """The second step of signing in."""

    code = _code_field("Code from your app, or a recovery code")
    submit = SubmitField("Continue")


#: How long a personal access token may live; the longest is a year.
TOKEN_LIFETIMES = [SelectChoice(7, "7 days"), SelectChoice(30, "30 days"),
                   SelectChoice(90, "90 days"), SelectChoice(365, "1 year")]  # fmt: skip


class PersonalTokenForm(FlaskForm):  # type: ignore[misc]
    """A new personal access token: a name to recognise it by, a lifetime and its scopes."""

    name = StringField(
        "Name",
        filters=[_strip],
        validators=[DataRequired(), Length(max=64)],
        description='What will use it, e.g. "backup script".',
    )
    days = SelectField(
        "Expires after", choices=TOKEN_LIFETIMES, coerce=int, default=30,
        validators=[InputRequired()],
    )  # fmt: skip
    scopes = MultiCheckboxField(
        "Scopes",
        choices=[SelectChoice(name, f"{name}: {text}") for name, text in SCOPES.items()],
        validators=[DataRequired(message="Choose at least one scope.")],
    )
    submit = SubmitField("Create token")
