"""Who may do what, and the guards that enforce it in the views.

The rules (``can_*``) answer yes or no; templates use them to hide buttons. The guards are what
views use, one way for every HTML page: a decorator for "who may open this page at all"
(:data:`author_required` here; servicekit's ``signed_in_required`` for any signed-in user),
and a loader per object that returns the object or stops the request (404 when the user may
not even know it exists, 403 when they may see it but not do this).
"""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from blog_service.extensions import db
from blog_service.models import Comment, Post
from servicekit.identitycookie import roles_required

# --- rules ---------------------------------------------------------------------------------


def can_write(user: Any) -> bool:
    """Authors (and admins) may write posts."""
    return bool(user.is_authenticated and user.has_role("author"))


def can_edit_post(user: Any, post: Post) -> bool:
    """Authors may edit their own posts; admins may edit every post."""
    if not user.is_authenticated:
        return False
    return bool(user.is_admin or (user.has_role("author") and user.id == post.author_id))


def can_see_post(user: Any, post: Post) -> bool:
    """Published posts are public; a draft only for those who may edit it."""
    return post.is_published or can_edit_post(user, post)


def can_delete_comment(user: Any, comment: Comment, post: Post) -> bool:
    """The comment's author, the post's author and admins may delete a comment."""
    if not user.is_authenticated:
        return False
    return bool(user.is_admin or user.id in (comment.author_id, post.author_id))


#: What each role lets someone do here, for the page that refuses a reader (errors/403.html).
ROLE_PURPOSES = {
    "author": "Authors write posts: drafts only they can see, published posts everyone can "
    "read, their own cover images, and the comments under their posts.",
    "admin": "Admins may do everything an author may, on every post and comment, and give "
    "roles to others.",
}


# --- guards: who may open a page -----------------------------------------------------------

#: Writing pages: signed in with the author role (admins pass every role check).
author_required = roles_required("author")


# --- guards: the object a page acts on -----------------------------------------------------


def visible_post(slug: str) -> Post:
    """The post ``slug`` if the current user may see it; a 404 otherwise (drafts stay secret)."""
    # The tags come in the same statement (a post has a handful): one round trip, not two.
    statement = select(Post).where(Post.slug == slug).options(joinedload(Post.tags))
    post: Post | None = db.session.scalars(statement).unique().one_or_none()
    if post is None or not can_see_post(current_user, post):
        abort(404)
    return post


def editable_post(slug: str) -> Post:
    """The post ``slug`` if the current user may change it (403 if they may only read it)."""
    post = visible_post(slug)
    if not can_edit_post(current_user, post):
        abort(403, "Only the post's author or an admin may change it.")
    return post


def commentable_post(slug: str) -> Post:
    """The post ``slug`` if the current user may comment on it: published posts only."""
    post = visible_post(slug)
    if not post.is_published:
        abort(403, "Comments open when the post is published.")
    return post


def deletable_comment(comment_id: int) -> Comment:
    """The comment ``comment_id`` (with its post) if the current user may delete it."""
    comment: Comment | None = db.session.scalar(
        select(Comment).where(Comment.id == comment_id).options(joinedload(Comment.post))
    )
    if comment is None or not can_see_post(current_user, comment.post):
        abort(404)
    if not can_delete_comment(current_user, comment, comment.post):
        abort(403, "Only the comment's author, the post's author or an admin may delete it.")
    return comment
