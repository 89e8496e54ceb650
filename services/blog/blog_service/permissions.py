"""Who may do what. Checked on the server for every object; templates use them to hide buttons."""

from __future__ import annotations

from typing import Any

from blog_service.models import Comment, Post


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
