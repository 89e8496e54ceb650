"""The blog's forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from typing import Any

from flask import current_app

# Flask-WTF ships no type information: its classes are Any to mypy.
from flask_wtf import FlaskForm  # type: ignore[import-untyped]
from flask_wtf.file import FileField  # type: ignore[import-untyped]
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from blog_service.images import EncodedImage, UploadError, read_upload, replace_cover
from blog_service.markdown import render_markdown
from blog_service.models import TAG_MAX_LENGTH, Post, Tag, slugify
from servicekit.inputs import has_control_characters

MAX_TAGS = 8


class EditConflictError(Exception):
    """The post changed since the editor loaded it: saving would overwrite someone's work."""


class PlainText:
    """A field without control characters; ``multiline`` keeps tabs and line breaks.

    Control characters are invisible on a page and most are not allowed in XML: one in a
    title would break the Atom feed for every subscriber. (The feed also strips them on the way
    out, for rows saved before this check.)
    """

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, _form: Any, field: Any) -> None:
        if field.data and has_control_characters(field.data, multiline=self.multiline):
            raise ValidationError(
                "Contains invisible control characters (often from a copy and paste): "
                "please retype it."
            )


class PostForm(FlaskForm):  # type: ignore[misc]
    """Create or edit a post. ``version`` is the version the editor loaded (no lost updates)."""

    title = StringField("Title", validators=[DataRequired(), Length(max=200), PlainText()])
    summary = StringField(
        "Summary",
        validators=[Optional(), Length(max=300), PlainText()],
        description="One or two sentences for the list pages and the feed.",
    )
    body = TextAreaField(
        "Body",
        validators=[DataRequired(), Length(max=100_000), PlainText(multiline=True)],
        description="Markdown.",
    )
    tags = StringField(
        "Tags",
        validators=[Optional(), Length(max=400), PlainText()],
        description=f"Comma-separated, at most {MAX_TAGS}.",
    )
    cover = FileField("Cover image", description="PNG, JPEG, GIF or WebP.")
    cover_alt = StringField(
        "Cover image description",
        validators=[Optional(), Length(max=200), PlainText()],
        description="What the image shows, for people who cannot see it.",
    )
    remove_cover = BooleanField("Remove the cover image")
    published = BooleanField("Published")
    version = HiddenField()

    #: The uploaded cover, decoded and re-encoded by :meth:`validate_cover` (None: no upload).
    encoded_cover: EncodedImage | None = None

    def validate_cover(self, field: Any) -> None:
        """An upload must be an image within the blog's limits; it is re-encoded here, once."""
        self.encoded_cover = None
        if field.data:
            config = current_app.config
            try:
                self.encoded_cover = read_upload(
                    field.data, config["BLOG_MAX_IMAGE_BYTES"], config["BLOG_MAX_IMAGE_PIXELS"]
                )
            except UploadError as error:
                raise ValidationError(str(error)) from None

    def validate_tags(self, field: Any) -> None:
        """Tag names must be usable in URLs; too many tags is an error, not a silent cut."""
        if len(self.tag_names()) > MAX_TAGS:
            raise ValidationError(f"Use at most {MAX_TAGS} tags.")
        for raw in (field.data or "").split(","):
            if raw.strip() and not slugify(raw, TAG_MAX_LENGTH):
                raise ValidationError(f"{raw.strip()!r} is not a usable tag name.")

    def tag_names(self) -> list[str]:
        """The tags typed, normalised and without duplicates, in the order given."""
        names: list[str] = []
        for raw in (self.tags.data or "").split(","):
            name = slugify(raw, TAG_MAX_LENGTH)
            if name and name not in names:
                names.append(name)
        return names

    def loaded_version(self) -> int | None:
        """The version the editor started from, or None if the field was tampered with."""
        try:
            return int(self.version.data or "")
        except ValueError:
            return None

    def save(self, post: Post | None, author_id: str, author_name: str) -> Post:
        """Write the validated form into ``post`` (a new post by the author when None).

        Nothing is committed: the caller commits the post, its tags and its cover image
        together. EditConflictError when ``post`` is no longer the version the editor loaded.
        """
        if post is not None and self.loaded_version() != post.version:
            raise EditConflictError
        # Queries first, changes after: a query in between would flush half the changes and
        # bump the version twice.
        tags = Tag.get_or_create(self.tag_names())
        if post is None:
            post = Post(
                slug=Post.unique_slug(self.title.data or ""),
                author_id=author_id,
                author_name=author_name,
            )
        post.title = self.title.data or ""
        post.summary = self.summary.data or ""
        post.body = self.body.data or ""
        post.body_html = render_markdown(post.body)
        post.tags = tags
        post.cover_alt = self.cover_alt.data or ""
        post.publish(bool(self.published.data))
        replace_cover(post, self.encoded_cover, remove=bool(self.remove_cover.data))
        return post


class CommentForm(FlaskForm):  # type: ignore[misc]
    """A comment on a published post."""

    body = TextAreaField(
        "Comment", validators=[DataRequired(), Length(max=2000), PlainText(multiline=True)]
    )


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    """A button-only form: deleting things must be a POST with a CSRF token."""


class DevSignInForm(FlaskForm):  # type: ignore[misc]
    """Development only: who to be, for the blog running without the auth service."""

    name = StringField(
        "Name", validators=[DataRequired(), Length(max=64), PlainText()], default="alice"
    )
    author = BooleanField("Author: may write posts", default=True)
    admin = BooleanField("Admin: may edit and delete anything")
    next = HiddenField()
