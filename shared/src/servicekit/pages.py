"""The look every service's HTML pages share: one base template, one stylesheet, one form macro.

blog and auth are one site to the people who use it, so their pages come from the same parts,
shipped here and installed by :func:`install_pages` (``init_service`` does it for services
with HTML error pages):

* ``servicekit/base.html``, the layout: skip link, header with the site name and the main
  navigation, flash messages, footer. A service's own ``base.html`` extends it and fills the
  blocks ``site_name``, ``home_url``, ``nav`` (``<li>`` items), ``header_extra``, ``footer`` and
  ``head`` (its own stylesheet); pages set ``title`` as ``Page · {{ super() }}``.
* ``servicekit/forms.html``, the form macros: ``field``, ``render_form``, ``form_errors``,
  ``hidden_fields`` and ``button_form``. Errors sit beside their field and are tied to it with
  ``aria-describedby``; ``prefix`` keeps ids unique when one page holds two forms.
* ``errors/error.html``, the error page in the service's layout (a service may still override
  it, or add ``errors/<code>.html`` pages that extend it).
* ``base.html``, a plain layout for a service that has none of its own.
* ``/static/servicekit/site.css``: light and dark (``prefers-color-scheme``), visible focus,
  a header that stays on one line on a desktop and stacks on a phone. No CSS framework: the
  Content-Security-Policy allows no inline style, so everything is in this file.
"""

from __future__ import annotations

from flask import Blueprint, Flask

#: The blueprint serves only templates and the stylesheet; it has no views of its own.
bp = Blueprint(
    "servicekit",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/servicekit",
)


def install_pages(app: Flask) -> None:
    """Make the shared templates and stylesheet available to ``app`` (once)."""
    if bp.name not in app.blueprints:
        app.register_blueprint(bp)
