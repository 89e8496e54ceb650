"""Comments: any signed-in user may comment on a published post."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from blog_service.extensions import db, limiter
from blog_service.forms import CommentForm, ConfirmForm
from blog_service.models import Comment, Post
from blog_service.permissions import can_delete_comment, can_see_post
from blog_service.queries import post_comments
from servicekit.identitycookie import signed_in_required

bp = Blueprint("comments", __name__)


@bp.post("/posts/<slug>/comments")
@signed_in_required
@limiter.limit(lambda: current_app.config["BLOG_WRITE_RATE_LIMIT"])
def create(slug: str) -> Response | tuple[str, int]:
    """Add a comment; an invalid one re-shows the post with the message next to the field."""
    post = db.session.scalar(select(Post).where(Post.slug == slug))
    if post is None or not can_see_post(current_user, post):
        abort(404)
    if not post.is_published:
        abort(403, "Comments open when the post is published.")
    form = CommentForm()
    if not form.validate_on_submit():
        page = render_template(
            "posts/detail.html",
            post=post,
            comments=post_comments(post),
            comment_form=form,
            confirm_form=ConfirmForm(),
        )
        return page, 422
    comment = Comment(
        post_id=post.id,
        author_id=current_user.id,
        author_name=current_user.name,
        body=form.body.data or "",
    )
    db.session.add(comment)
    db.session.commit()
    flash("Comment added.", "success")
    return redirect(url_for("posts.detail", slug=post.slug, _anchor=f"comment-{comment.id}"))


@bp.post("/comments/<int:comment_id>/delete")
@signed_in_required
def delete(comment_id: int) -> Response:
    """Delete a comment (its author, the post's author, or an admin)."""
    comment = db.session.scalar(
        select(Comment).where(Comment.id == comment_id).options(joinedload(Comment.post))
    )
    if comment is None or not can_see_post(current_user, comment.post):
        abort(404)
    if not can_delete_comment(current_user, comment, comment.post):
        abort(403, "Only the comment's author, the post's author or an admin may delete it.")
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form was incomplete; please try again.")
    slug = comment.post.slug
    db.session.delete(comment)
    db.session.commit()
    flash("Comment deleted.", "success")
    return redirect(url_for("posts.detail", slug=slug, _anchor="comments"))
