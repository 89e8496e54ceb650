"""Posts: the public pages (home, post, tag, author, search), drafts, and writing posts."""

from __future__ import annotations

import logging
import re

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import undefer
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from blog_service.extensions import db, limiter
from blog_service.forms import CommentForm, ConfirmForm, PostForm
from blog_service.images import UploadError, delete_if_unused, read_upload, store_image
from blog_service.markdown import render_markdown
from blog_service.models import DRAFT, PUBLISHED, Post, StoredImage, Tag
from blog_service.permissions import can_edit_post, can_see_post
from blog_service.queries import (
    for_cards,
    paginate,
    post_comments,
    published_posts,
    search_criteria,
    with_comment_counts,
)
from servicekit.identitycookie import roles_required
from servicekit.inputs import page_number

log = logging.getLogger(__name__)

bp = Blueprint("posts", __name__)

CONFLICT_MESSAGE = (
    "Someone else saved this post while you were editing it. Your text is below, unsaved; "
    "open the post in another tab to see their changes, merge them into your text, and save."
)
DATABASE_MESSAGE = (
    "The post could not be saved (a database error). Nothing was changed; please try again."
)
#: What an image's name looks like (a hex SHA-256); anything else is not ours to serve.
IMAGE_NAME = re.compile(r"[0-9a-f]{64}")


def _posts_page(*criteria: ColumnElement[bool]) -> Pagination:
    per_page: int = current_app.config["BLOG_POSTS_PER_PAGE"]
    return paginate(for_cards(published_posts(*criteria)), page_number(), per_page)


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
    pagination = paginate(statement, page_number(), current_app.config["BLOG_POSTS_PER_PAGE"])
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


def _save(form: PostForm, post: Post | None) -> Response | tuple[str, int]:
    """Validate ``form`` and save it into ``post`` (a new post when None), in one commit.

    A new cover image is written by the same commit as the post (see images.py): either both
    are saved or neither is.
    """
    if not form.validate_on_submit():
        return _render_form(form, post, 422 if request.method == "POST" else 200)
    if post is not None and form.loaded_version() != post.version:
        return _conflict(form, post)

    cover = None
    if form.cover.data:
        config = current_app.config
        try:
            cover = read_upload(
                form.cover.data, config["BLOG_MAX_IMAGE_BYTES"], config["BLOG_MAX_IMAGE_PIXELS"]
            )
        except UploadError as error:
            form.cover.errors = [str(error)]
            return _render_form(form, post, 422)

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
    old_cover = post.cover_sha256
    post.title = form.title.data or ""
    post.summary = form.summary.data or ""
    post.body = form.body.data or ""
    post.body_html = render_markdown(post.body)
    post.tags = tags
    post.cover_alt = form.cover_alt.data or ""
    post.publish(bool(form.published.data))
    if cover is not None:
        post.cover_sha256 = store_image(cover)
    elif form.remove_cover.data:
        post.cover_sha256 = None
    db.session.add(post)
    try:
        db.session.flush()
        if old_cover != post.cover_sha256:
            delete_if_unused(old_cover)
        db.session.commit()
    except StaleDataError:
        # Saved by someone else between our version check and our UPDATE.
        db.session.rollback()
        return _conflict(form, post)
    except SQLAlchemyError:
        log.exception("could not save a post")
        db.session.rollback()
        form.form_errors.append(DATABASE_MESSAGE)
        return _render_form(form, None if is_new else post, 503)
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
    """Delete a post, its comments (database cascade) and its cover image unless shared."""
    post = _editable_post(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form was incomplete; please try again.")
    cover = post.cover_sha256
    db.session.delete(post)
    db.session.flush()
    delete_if_unused(cover)
    db.session.commit()
    flash("Post deleted.", "success")
    return redirect(url_for("posts.index"))


@bp.get("/images/<sha256>")
def image(sha256: str) -> Response:
    """A cover image by the hash of its bytes, which never change: cached for a year.

    An image is public when a published post uses it: then the answer depends on nothing but
    the URL (the current user is not even looked at), and the gateway may keep it. An image
    that only drafts use is served to those who may see one of the drafts, privately.
    """
    if not IMAGE_NAME.fullmatch(sha256):
        abort(404)
    posts_using_it = select(Post).where(Post.cover_sha256 == sha256)
    public = db.session.scalar(select(posts_using_it.where(Post.status == PUBLISHED).exists()))
    if not public and not any(
        can_see_post(current_user, post) for post in db.session.scalars(posts_using_it)
    ):
        abort(404)
    response = Response()
    # Strong: the tag is the hash of the exact bytes served.
    response.set_etag(sha256)
    response.cache_control.max_age = 365 * 24 * 3600
    response.cache_control.immutable = True
    if public:
        response.cache_control.public = True
    else:
        response.cache_control.private = True
    if request.if_none_match.contains(sha256):
        response.status_code = 304  # the bytes are not even read
        return response
    stored = db.session.get(StoredImage, sha256, options=[undefer(StoredImage.data)])
    if stored is None:  # deleted since the first query
        abort(404)
    response.set_data(stored.data)
    response.mimetype = stored.media_type
    return response
