"""Post bodies are Markdown rendered to HTML that cannot run script."""

from __future__ import annotations

from html.parser import HTMLParser

from flask import Flask
from flask.testing import FlaskClient

from blog_service.markdown import render_markdown, sanitize_html
from tests.conftest import csrf_token

HOSTILE_BODY = """\
<script>alert(1)</script>

<img src=x onerror=alert(1)>

[x](javascript:alert(1)) and [ok](https://example.org/)

<a href="javascript:alert(2)" onclick="alert(3)">raw</a>

```python
if a < b:
    print("kept")
```
"""


class Elements(HTMLParser):
    """Collects the elements and attributes of an HTML page, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    return parser.elements


def assert_harmless(html: str) -> None:
    for tag, attrs in elements(html):
        assert tag != "script"
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("href", "src"):
            assert not (attrs.get(name) or "").strip().lower().startswith("javascript:")


def test_hostile_post_body_renders_harmless(app: Flask, alice: FlaskClient) -> None:
    token = csrf_token(alice, "/posts/new")
    data = {"csrf_token": token, "title": "Hostile", "body": HOSTILE_BODY, "published": "y"}
    assert alice.post("/posts/new", data=data).status_code == 302
    page = alice.get("/posts/hostile").get_data(as_text=True)
    assert_harmless(page)
    body = page[page.index('<div class="post-body">') :]
    assert '<pre><code class="language-python">if a &lt; b:' in body
    assert '<a href="https://example.org/" rel="noopener nofollow">ok</a>' in body


def test_sanitizer_removes_what_markdown_might_let_through() -> None:
    dirty = (
        '<p onclick="x()">hi<script>alert(1)</script></p>'
        '<a href="javascript:alert(1)">a</a><img src="x" onerror="alert(1)">'
        '<code class="language-py evil">c</code><iframe src="https://e.org"></iframe>'
    )
    clean = sanitize_html(dirty)
    assert_harmless(clean)
    assert "alert(1)" not in clean
    assert "iframe" not in clean
    assert "<code>c</code>" in clean  # a class that is not a language is dropped


def test_links_get_rel_noopener_nofollow() -> None:
    assert 'rel="noopener nofollow"' in render_markdown("[a](https://example.org)")
