"""Posts: the public pages (home, post, tag, author, search), drafts, and writing posts."""

from __future__ import annotations

import logging
import re
from typing import Any

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
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, undefer
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from blog_service import card_lists
from blog_service.caching import cacheable_page
from blog_service.extensions import db, limiter
from blog_service.forms import CommentForm, ConfirmForm, EditConflictError, PostForm
from blog_service.images import delete_if_unused
from blog_service.models import DRAFT, PUBLISHED, Post, StoredImage, Tag
from blog_service.permissions import author_required, can_see_post, editable_post, visible_post
from blog_service.queries import (
    BadCursorError,
    Cursor,
    Page,
    cards,
    keyset_page,
    post_comments,
    published_posts,
    search_criteria,
)

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


def _cursor_argument(name: str) -> Cursor | None:
    """The ``before`` or ``after`` query argument of a list page; 400 when it is not ours."""
    text = request.args.get(name)
    if text is None:
        return None
    try:
        return Cursor.parse(text)
    except BadCursorError:
        abort(400, "That page link is not valid: start again from the first page.")


def _page_of(statement: Select[Any], sort: InstrumentedAttribute[Any] = Post.published_at) -> Page:
    """The page of ``statement`` (cards, newest first by ``sort``) that the URL asks for.

    A page beyond either end of the list (an old link) is a 404, as the first page never is.
    """
    before, after = _cursor_argument("before"), _cursor_argument("after")
    page = keyset_page(
        statement,
        sort,
        current_app.config["BLOG_POSTS_PER_PAGE"],
        before=before,
        after=after,
    )
    if not page.items and (before or after):
        abort(404)
    return page


# The home, tag and author pages show the same cards to every reader of a URL: their card list
# is shared for a moment (card_lists.py), and only the layout around it is rendered each time.


@bp.get("/")
@cacheable_page
def index() -> str:
    """Home: published posts, newest first."""
    shared = card_lists.shared(lambda: _page_of(published_posts()))
    return render_template("posts/index.html", card_list=shared.html)


def _tag_page(name: str) -> Page:
    """The page of posts tagged ``name`` the URL asks for; a 404 if no such tag exists."""
    page = _page_of(published_posts(Post.tags.any(Tag.name == name)))
    # The page's own statement finds the tag by name: the tag is looked up alone only when the
    # page is empty, to tell a tag without published posts from one that does not exist.
    if not page.items:
        db.first_or_404(select(Tag).where(Tag.name == name))
    return page


@bp.get("/tags/<name>")
@cacheable_page
def tag(name: str) -> str:
    """Published posts with one tag (a 404 for a tag that does not exist)."""
    shared = card_lists.shared(lambda: _tag_page(name))
    heading = f"Posts tagged “{name}”"
    return render_template("posts/list.html", card_list=shared.html, heading=heading)


def _author_page(author_id: str) -> Page:
    """The page of posts by ``author_id`` the URL asks for; a 404 if they published none."""
    page = _page_of(published_posts(Post.author_id == author_id))
    if not page.items:
        abort(404)
    return page


@bp.get("/authors/<author_id>")
@cacheable_page
def author(author_id: str) -> str:
    """Published posts by one author (named as their latest post on the page names them)."""
    shared = card_lists.shared(lambda: _author_page(author_id))
    heading = f"Posts by {shared.page.items[0].author_name}"
    return render_template("posts/list.html", card_list=shared.html, heading=heading)


@bp.get("/search")
@cacheable_page
def search() -> str:
    """Published posts matching the words of ``q`` (see queries.search_criteria)."""
    # Not shared: each query is a URL of its own, rarely asked twice within seconds, and its
    # entries would only push the list pages out of the bounded cache.
    query = request.args.get("q", "").strip()[:200]
    page = _page_of(published_posts(search_criteria(query))) if query else None
    card_list = card_lists.render(page) if page is not None else None
    return render_template("posts/search.html", card_list=card_list, query=query)


@bp.get("/drafts")
@author_required
def drafts() -> str:
    """The signed-in author's drafts, last changed first (one author's: never shared)."""
    mine = cards(Post.status == DRAFT, Post.author_id == current_user.id)
    page = _page_of(mine, sort=Post.updated_at)
    card_list = card_lists.render(page)
    return render_template("posts/list.html", card_list=card_list, heading="My drafts")


@bp.get("/posts/<slug>")
@cacheable_page
def detail(slug: str) -> str:
    """One post with its comments and, for those signed in, a comment form."""
    post = visible_post(slug)
    # A form's CSRF token lives in the session: making one for an anonymous reader would set
    # a cookie, and a page that sets a cookie cannot be shared (see caching.py).
    signed_in = current_user.is_authenticated
    return render_template(
        "posts/detail.html",
        post=post,
        comments=post_comments(post),
        comment_form=CommentForm() if signed_in else None,
        confirm_form=ConfirmForm() if signed_in else None,
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


def _commit(form: PostForm, post: Post | None) -> Post:
    """Save ``form`` into ``post`` (a new post when None) and commit.

    Another author saving the same title at the same moment can take a new post's slug first
    (the unique index refuses ours): saved once more, it gets the next free slug.
    """
    try:
        saved = form.save(post, current_user.id, current_user.name)
        db.session.commit()
    except IntegrityError:
        if post is not None:
            raise
        db.session.rollback()
        saved = form.save(None, current_user.id, current_user.name)
        db.session.commit()
    return saved


def _save(form: PostForm, post: Post | None) -> Response | tuple[str, int]:
    """Validate ``form`` and save it into ``post`` (a new post when None), in one commit."""
    if not form.validate_on_submit():
        return _render_form(form, post, 422 if request.method == "POST" else 200)
    try:
        saved = _commit(form, post)
    except (EditConflictError, StaleDataError):  # saved by someone else since the editor loaded it
        db.session.rollback()
        assert post is not None  # a new post has no earlier version to conflict with
        return _conflict(form, post)
    except SQLAlchemyError:
        log.exception("could not save a post")
        db.session.rollback()
        form.form_errors.append(DATABASE_MESSAGE)
        return _render_form(form, post, 503)
    card_lists.forget_after_write()  # the author's next list page shows the post as saved
    flash("Post created." if post is None else "Post saved.", "success")
    return redirect(url_for("posts.detail", slug=saved.slug))


@bp.route("/posts/new", methods=["GET", "POST"])
@author_required
@limiter.limit(lambda: current_app.config["BLOG_WRITE_RATE_LIMIT"], methods=["POST"])
def new() -> Response | tuple[str, int]:
    """Write a new post."""
    return _save(PostForm(), None)


@bp.route("/posts/<slug>/edit", methods=["GET", "POST"])
@author_required
def edit(slug: str) -> Response | tuple[str, int]:
    """Edit a post; a stale version (someone saved in between) is refused with a 409."""
    post = editable_post(slug)
    if request.method == "GET":
        form = PostForm(obj=post)
        form.tags.data = ", ".join(tag.name for tag in post.tags)
        form.published.data = post.is_published
        form.version.data = str(post.version)
        return _render_form(form, post, 200)
    return _save(PostForm(), post)


@bp.post("/posts/<slug>/delete")
@author_required
def delete(slug: str) -> Response:
    """Delete a post, its comments (database cascade) and its cover image unless shared."""
    post = editable_post(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form was incomplete; please try again.")
    cover = post.cover_sha256
    db.session.delete(post)
    db.session.flush()
    delete_if_unused(cover)
    db.session.commit()
    card_lists.forget_after_write()
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
