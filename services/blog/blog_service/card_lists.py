"""The card list of a list page: its cards and pagination links, rendered apart from the page.

The list pages (home, tag, author, search, drafts) show their cards inside a layout that names
the reader; the cards themselves depend only on the rows and the URL. Rendering them on their
own keeps that line visible in the code.
"""

from __future__ import annotations

from flask import current_app
from markupsafe import Markup

from blog_service.queries import Page


def render(page: Page) -> Markup:
    """The cards and pagination links of ``page`` (posts/_list.html), rendered now."""
    # Not render_template: no context processor runs, so the template is given ``pagination``
    # and nothing of the reader (no current_user).
    template = current_app.jinja_env.get_template("posts/_list.html")
    return Markup(template.render(pagination=page))  # noqa: S704 - the template escaped it
