"""Posts: the public pages (home, post, tag, author, search), drafts, and writing posts."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from blog_service.extensions import db, limiter
from blog_service.forms import CommentForm, ConfirmForm, PostForm
from blog_service.markdown import render_markdown
from blog_service.models import DRAFT, Post, Tag
from blog_service.permissions import can_edit_post, can_see_post
from blog_service.queries import (
    for_cards,
    paginate,
    post_comments,
    published_posts,
    search_criteria,
    with_comment_counts,
)
from blog_service.uploads import (
    CONTENT_TYPES,
    STORED_NAME,
    PendingUpload,
    UploadError,
    delete_stored,
    read_image,
    write_pending,
)
from servicekit.identity import roles_required

log = logging.getLogger(__name__)

bp = Blueprint("posts", __name__)

CONFLICT_MESSAGE = (
    "Someone else saved this post while you were editing it. Your text is below, unsaved; "
    "open the post in another tab to see their changes, merge them into your text, and save."
)
DATABASE_MESSAGE = (
    "The post could not be saved (a database error). Nothing was changed; please try again."
)
DISK_MESSAGE = (
    "The image could not be stored (the server may be out of disk space). "
    "Nothing was saved; please try again later."
)


def _page_number() -> int:
    return request.args.get("page", 1, type=int) or 1


def _posts_page(*criteria: ColumnElement[bool]) -> Pagination:
    per_page: int = current_app.config["BLOG_POSTS_PER_PAGE"]
    return paginate(for_cards(published_posts(*criteria)), _page_number(), per_page)


@bp.get("/")
def index() -> str:
    """Home: published posts, newest first."""
    return render_template("posts/index.html", pagination=_posts_page())


@bp.get("/tags/<name>")
def tag(name: str) -> str:
    """Published posts with one tag."""
    tag = db.first_or_404(select(Tag).where(Tag.name == name))
    pagination = _posts_page(Post.tags.any(Tag.id == tag.id))
    return render_template(
        "posts/list.html", pagination=pagination, heading=f"Posts tagged “{tag.name}”"
    )


@bp.get("/authors/<author_id>")
def author(author_id: str) -> str:
    """Published posts by one author (named as their latest post names them)."""
    pagination = _posts_page(Post.author_id == author_id)
    if not pagination.items:
        abort(404)
    name = pagination.items[0].author_name
    return render_template("posts/list.html", pagination=pagination, heading=f"Posts by {name}")


@bp.get("/search")
def search() -> str:
    """Published posts whose title or body contains ``q``."""
    query = request.args.get("q", "").strip()[:200]
    pagination = _posts_page(search_criteria(query)) if query else None
    return render_template("posts/search.html", pagination=pagination, query=query)


@bp.get("/drafts")
@roles_required("author")
def drafts() -> str:
    """The signed-in author's drafts."""
    statement = for_cards(
        with_comment_counts(
            select(Post)
            .where(Post.status == DRAFT, Post.author_id == current_user.id)
            .order_by(Post.updated_at.desc(), Post.id.desc())
        )
    )
    pagination = paginate(statement, _page_number(), current_app.config["BLOG_POSTS_PER_PAGE"])
    return render_template("posts/list.html", pagination=pagination, heading="My drafts")


def _visible_post(slug: str) -> Post:
    """The post ``slug`` if the current user may see it; a 404 otherwise (drafts stay secret)."""
    post: Post | None = db.session.scalar(select(Post).where(Post.slug == slug))
    if post is None or not can_see_post(current_user, post):
        abort(404)
    return post


def _editable_post(slug: str) -> Post:
    post = _visible_post(slug)
    if not can_edit_post(current_user, post):
        abort(403, "Only the post's author or an admin may change it.")
    return post


@bp.get("/posts/<slug>")
def detail(slug: str) -> str:
    """One post with its comments and a comment form."""
    post = _visible_post(slug)
    return render_template(
        "posts/detail.html",
        post=post,
        comments=post_comments(post),
        comment_form=CommentForm(),
        confirm_form=ConfirmForm(),
    )


def _upload_folder() -> Path:
    return Path(current_app.config["BLOG_UPLOAD_FOLDER"])


def _render_form(form: PostForm, post: Post | None, status: int) -> tuple[str, int]:
    return render_template("posts/form.html", form=form, post=post), status


def _conflict(form: PostForm, post: Post) -> tuple[str, int]:
    """Re-show the form with the user's text and a conflict message; nothing was saved.

    The hidden version becomes the current one, so saving again (after merging) is a
    deliberate choice, not an accident.
    """
    form.form_errors.append(CONFLICT_MESSAGE)
    form.version.data = str(post.version)
    return _render_form(form, post, 409)


def _write_cover(form: PostForm) -> PendingUpload | None:
    """Check the uploaded cover image and write it to a temporary file (None: no new image).

    Raises UploadError for a file we refuse, OSError when it cannot be written.
    """
    if not form.cover.data:
        return None
    config = current_app.config
    data, extension = read_image(
        form.cover.data, config["BLOG_MAX_IMAGE_BYTES"], config["BLOG_MAX_IMAGE_PIXELS"]
    )
    return write_pending(_upload_folder(), data, extension)


def _save(form: PostForm, post: Post | None) -> Response | tuple[str, int]:
    """Validate ``form`` and save it into ``post`` (a new post when None).

    Order for a cover image: temporary file, database commit, rename (see uploads.py).
    """
    if not form.validate_on_submit():
        return _render_form(form, post, 422 if request.method == "POST" else 200)
    if post is not None and form.loaded_version() != post.version:
        return _conflict(form, post)

    try:
        pending = _write_cover(form)
    except UploadError as error:
        form.cover.errors = [str(error)]
        return _render_form(form, post, 422)
    except OSError:
        log.exception("could not write an uploaded image")
        form.form_errors.append(DISK_MESSAGE)
        return _render_form(form, post, 507)

    # Queries first, changes after: a query in between would flush half the changes and bump
    # the version twice.
    tags = Tag.get_or_create(form.tag_names())
    is_new = post is None
    if post is None:
        post = Post(
            slug=Post.unique_slug(form.title.data or ""),
            author_id=current_user.id,
            author_name=current_user.name,
        )
    old_cover = post.cover_image
    post.title = form.title.data or ""
    post.summary = form.summary.data or ""
    post.body = form.body.data or ""
    post.body_html = render_markdown(post.body)
    post.tags = tags
    post.cover_alt = form.cover_alt.data or ""
    post.publish(bool(form.published.data))
    if pending is not None:
        post.cover_image = pending.name
    elif form.remove_cover.data:
        post.cover_image = None
    db.session.add(post)
    try:
        db.session.commit()
    except StaleDataError:
        # Saved by someone else between our version check and our UPDATE.
        db.session.rollback()
        if pending is not None:
            pending.discard()
        return _conflict(form, post)
    except SQLAlchemyError:
        log.exception("could not save a post")
        db.session.rollback()
        if pending is not None:
            pending.discard()
        form.form_errors.append(DATABASE_MESSAGE)
        return _render_form(form, None if is_new else post, 503)
    if pending is not None:
        try:
            pending.move_into_place()
        except OSError:
            # The row names a file we could not create: point it back at the old image.
            log.exception("could not move an uploaded image into place")
            pending.discard()
            post.cover_image = old_cover
            db.session.commit()
            flash(DISK_MESSAGE, "error")
            return redirect(url_for("posts.edit", slug=post.slug))
    if old_cover != post.cover_image:
        delete_stored(_upload_folder(), old_cover)
    flash("Post created." if is_new else "Post saved.", "success")
    return redirect(url_for("posts.detail", slug=post.slug))


@bp.route("/posts/new", methods=["GET", "POST"])
@roles_required("author")
@limiter.limit(lambda: current_app.config["BLOG_WRITE_RATE_LIMIT"], methods=["POST"])
def new() -> Response | tuple[str, int]:
    """Write a new post."""
    return _save(PostForm(), None)


@bp.route("/posts/<slug>/edit", methods=["GET", "POST"])
@roles_required("author")
def edit(slug: str) -> Response | tuple[str, int]:
    """Edit a post; a stale version (someone saved in between) is refused with a 409."""
    post = _editable_post(slug)
    if request.method == "GET":
        form = PostForm(obj=post)
        form.tags.data = ", ".join(tag.name for tag in post.tags)
        form.published.data = post.is_published
        form.version.data = str(post.version)
        return _render_form(form, post, 200)
    return _save(PostForm(), post)


@bp.post("/posts/<slug>/delete")
@roles_required("author")
def delete(slug: str) -> Response:
    """Delete a post, its comments (database cascade) and its cover image."""
    post = _editable_post(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form was incomplete; please try again.")
    cover = post.cover_image
    db.session.delete(post)
    db.session.commit()
    delete_stored(_upload_folder(), cover)
    flash("Post deleted.", "success")
    return redirect(url_for("posts.index"))


@bp.get("/uploads/<name>")
def upload(name: str) -> Response:
    """A cover image, if its post is visible to the current user; cached for a year."""
    if not STORED_NAME.fullmatch(name):
        abort(404)
    post = db.session.scalar(select(Post).where(Post.cover_image == name))
    if post is None or not can_see_post(current_user, post):
        abort(404)
    extension = name.rsplit(".", 1)[1]
    response = send_from_directory(
        _upload_folder(), name, mimetype=CONTENT_TYPES[extension], max_age=365 * 24 * 3600
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A published image's name never changes (a new image gets a new name): safe to keep.
    response.cache_control.immutable = True
    if not post.is_published:
        response.cache_control.public = False
        response.cache_control.private = True
    return response
