"""Comments: any signed-in user may comment on a published post."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from blog_service import card_lists
from blog_service.extensions import db, limiter
from blog_service.forms import CommentForm, ConfirmForm
from blog_service.models import Comment
from blog_service.permissions import commentable_post, deletable_comment
from blog_service.queries import post_comments
from servicekit.identitycookie import signed_in_required

bp = Blueprint("comments", __name__)


@bp.post("/posts/<slug>/comments")
@signed_in_required
@limiter.limit(lambda: current_app.config["BLOG_WRITE_RATE_LIMIT"])
def create(slug: str) -> Response | tuple[str, int]:
    """Add a comment; an invalid one re-shows the post with the message next to the field."""
    post = commentable_post(slug)
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
    db.session.commit()  # the post's comment_count with it (see models.py)
    card_lists.forget_after_write()  # which its card shows
    flash("Comment added.", "success")
    return redirect(url_for("posts.detail", slug=post.slug, _anchor=f"comment-{comment.id}"))


@bp.post("/comments/<int:comment_id>/delete")
@signed_in_required
def delete(comment_id: int) -> Response:
    """Delete a comment (its author, the post's author, or an admin)."""
    comment = deletable_comment(comment_id)
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form was incomplete; please try again.")
    slug = comment.post.slug
    db.session.delete(comment)
    db.session.commit()  # the post's comment_count with it
    card_lists.forget_after_write()
    flash("Comment deleted.", "success")
    return redirect(url_for("posts.detail", slug=slug, _anchor="comments"))
