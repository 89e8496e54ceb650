"""The site's shared look (servicekit.pages) and content-hashed static URLs (staticfiles)."""

from __future__ import annotations

import re

from flask import Flask, render_template_string, url_for

from servicekit.identitycookie import RoleRequired
from tests.support import AppFactory


def test_an_html_service_error_page_is_in_the_sites_layout(make_app: AppFactory) -> None:
    client = make_app("html").test_client()
    response = client.get("/nowhere")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert '<main id="content">' in page
    assert '<nav aria-label="Main">' in page
    match = re.search(r'href="(/static/servicekit/site\.css\?v=[0-9a-f]{12})"', page)
    assert match is not None
    with client.get(match.group(1)) as sheet:
        assert sheet.status_code == 200
        assert sheet.mimetype == "text/css"


def test_a_problem_service_gets_no_pages(make_app: AppFactory) -> None:
    assert "servicekit" not in make_app("problem").blueprints


def test_static_urls_carry_their_files_hash_and_a_missing_file_none(make_app: AppFactory) -> None:
    app: Flask = make_app("html")
    with app.test_request_context():
        first = url_for("servicekit.static", filename="site.css")
        assert re.fullmatch(r"/static/servicekit/site\.css\?v=[0-9a-f]{12}", first)
        assert url_for("servicekit.static", filename="site.css", v="x").endswith("?v=x")
        assert url_for("servicekit.static", filename="missing.css") == (
            "/static/servicekit/missing.css"
        )
        assert "v=" not in url_for("servicekit.static", filename="../pages.py")


def test_the_form_macro_prefixes_ids_and_hides_no_name(make_app: AppFactory) -> None:
    from wtforms import Form, PasswordField, StringField

    class Example(Form):
        name = StringField("Name", description="What people call you")
        password = PasswordField("Password")

    app = make_app("html")
    with app.test_request_context():
        html = render_template_string(
            '{% from "servicekit/forms.html" import render_form %}'
            "{{ render_form(form, '/x', prefix='second') }}",
            form=Example(),
        )
    assert '<label for="second-name">Name</label>' in html
    assert 'id="second-name"' in html
    assert 'name="name"' in html
    assert 'aria-describedby="second-name-help"' in html
    assert 'id="second-name-help"' in html


def test_a_missing_role_says_which_roles_would_do() -> None:
    error = RoleRequired(("author",))
    assert error.code == 403
    assert error.roles == ("author",)
