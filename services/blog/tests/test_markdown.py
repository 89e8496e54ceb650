"""Post bodies are Markdown rendered to HTML that cannot run script."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from flask import Flask
from flask.testing import FlaskClient

from blog_service.markdown import render_markdown, sanitize_html
from tests.support import csrf_token

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
    # Highlighted on the server: Pygments' token classes, the "<" still escaped.
    assert '<pre><code class="language-python"><span class="k">if</span>' in body
    assert '<span class="o">&lt;</span>' in body
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


def test_fenced_code_is_highlighted_with_classes_never_inline_style() -> None:
    html = render_markdown('```python\ndef f():\n    return "x"  # done\n```\n')
    assert '<span class="k">def</span>' in html
    assert '<span class="nf">f</span>' in html
    assert '<span class="c1"># done</span>' in html
    assert "style=" not in html


def test_code_in_an_unknown_or_no_language_is_plain_escaped_text() -> None:
    assert render_markdown("```nosuchlanguage\na < b\n```\n") == (
        '<pre><code class="language-nosuchlanguage">a &lt; b\n</code></pre>\n'
    )
    assert render_markdown("```\na < b\n```\n") == "<pre><code>a &lt; b\n</code></pre>\n"


def test_a_span_keeps_only_a_token_class() -> None:
    clean = sanitize_html('<span class="k">a</span><span class="k evil" style="x">b</span>')
    assert clean == '<span class="k">a</span><span>b</span>'


def test_headings_start_below_the_title() -> None:
    html = render_markdown("# One\n\n## Two\n\n###### Six\n")
    assert html == "<h2>One</h2>\n<h3>Two</h3>\n<h6>Six</h6>\n"


def test_every_code_colour_reads_well_on_the_code_background() -> None:
    """code.css: 4.5:1 at least (WCAG AA) on site.css's --bg-soft, in each colour scheme."""
    from pathlib import Path

    import blog_service

    css = (Path(blog_service.__file__).parent / "static" / "code.css").read_text()
    light, _, dark = css.partition("@media (prefers-color-scheme: dark)")
    for block, background in ((light, "#f3f5f8"), (dark, "#1e232b")):
        colours = re.findall(r"[{;] color: (#[0-9A-Fa-f]{3,6})", block)
        assert colours
        for colour in colours:
            assert contrast(colour, background) >= 4.5, colour


def contrast(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two #rgb or #rrggbb colours."""

    def luminance(colour: str) -> float:
        digits = colour.lstrip("#")
        if len(digits) == 3:
            digits = "".join(digit * 2 for digit in digits)
        channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)
