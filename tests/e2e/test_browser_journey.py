"""A writer's journey in a real browser, through the gateway of the production-like stack.

Register at /auth, verify the address from the email, sign in to the blog through auth's login
page and back, become an author (an admin changes the role in another browser), write a post
with Markdown and a cover image, find it on the home page, comment, lose an edit race against
a second tab without losing the text, and sign out. Every page is checked for console errors
and CSP violations (conftest.py), and every page of the journey is looked at (``look``): ids
unique, no serious or critical axe-core violation, a screenshot at 1280 and 360 px.
"""

from __future__ import annotations

import io
import re
import secrets
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from tests.smoke.support import wait_for_mail

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.e2e.support import BrowserFactory, Look, Problems

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple 42"

BODY = """A first paragraph with **bold** words and a [link](https://example.org/).

- one
- two

```python
print("hello")
```

<script>document.title = "pwned"</script>
"""


def png_image() -> bytes:
    """A small PNG cover image (Pillow is one of the blog's own dependencies)."""
    from PIL import Image

    output = io.BytesIO()
    Image.new("RGB", (24, 12), (42, 127, 212)).save(output, format="PNG")
    return output.getvalue()


def signed_in_as(page: Page, name: str) -> None:
    expect(page.get_by_role("navigation", name="Main")).to_contain_text(f"Signed in as {name}")


def log_in(page: Page, username: str, password: str) -> None:
    """Fill in auth's login form (the page must show it)."""
    expect(page).to_have_url(re.compile(r"/auth/login"))
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


#: Where each child of the header starts and ends vertically, and how wide the header is.
HEADER_BOXES = """() => {
    const header = document.querySelector(".site-header-inner");
    const items = [...header.children, ...header.querySelectorAll("nav li")];
    return {
        rows: items.map(item => { const box = item.getBoundingClientRect();
                                  return [box.top, box.bottom]; }),
        overflow: header.scrollWidth - header.clientWidth,
    };
}"""


def header_on_one_line(page: Page) -> bool:
    """Whether every item of the header shares one row (each overlaps every other vertically)."""
    boxes = page.evaluate(HEADER_BOXES)
    tops, bottoms = zip(*boxes["rows"], strict=True)
    return max(tops) < min(bottoms) and boxes["overflow"] <= 0


def check_header(page: Page) -> None:
    """One line at 1280 px; at 360 px stacked, with nothing wider than the screen."""
    size = page.viewport_size
    try:
        page.set_viewport_size({"width": 1280, "height": 800})
        assert header_on_one_line(page), page.evaluate(HEADER_BOXES)
        page.set_viewport_size({"width": 360, "height": 800})
        assert not header_on_one_line(page)  # it stacked
        assert page.evaluate(HEADER_BOXES)["overflow"] <= 0
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    finally:
        if size:
            page.set_viewport_size(size)


def image_loaded(page: Page, selector: str) -> bool:
    loaded: bool = page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")
    return loaded


def test_a_writer_journey(
    browsers: BrowserFactory, problems: Problems, admin_credentials: tuple[str, str], look: Look
) -> None:
    username = f"writer{secrets.token_hex(3)}"
    title = f"Spring in the garden {secrets.token_hex(2)}"
    writer = browsers("writer")
    page = writer.pages[0]

    # --- register at auth, then sign in to the blog through auth and back ------------------
    page.goto("/")
    look(page, "01-home-visitor")
    expect(page.get_by_role("link", name="Register")).to_have_attribute(
        "href", re.compile(r"/auth/register\?next=/")
    )
    page.goto("/auth/register")
    look(page, "02-register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_contain_text("Your account is ready")
    look(page, "03-account")
    # The verification email, from the SMTP server: only verified users can become authors.
    page.goto(wait_for_mail(f"{username}@example.com", "Confirm your email address").link)
    look(page, "04-confirm-email")
    page.get_by_role("button", name=f"Confirm {username}@example.com").click()
    expect(page.get_by_role("status")).to_contain_text("is verified")
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("You are signed out")

    page.goto("/")
    page.get_by_role("link", name="Sign in").first.click()
    look(page, "05-login")
    log_in(page, username, PASSWORD)
    expect(page).to_have_url(re.compile(r"^[^?]*/$"))  # back on the blog's home page
    signed_in_as(page, username)
    expect(page.get_by_role("link", name="Write a post")).to_have_count(0)  # a reader
    # A reader who tries to write learns what the author role is and who gives it.
    with problems.expected(r"status of 403"):  # Chromium logs the 403 answer to the console
        page.goto("/posts/new")
        expect(page.get_by_role("heading", name="The author role")).to_be_visible()
        look(page, "06-role-needed")
    page.goto("/")
    problems.check()

    # --- an admin, in a browser of their own, makes the user an author ----------------------
    admin = browsers("admin").pages[0]
    admin.goto("/auth/login")
    log_in(admin, *admin_credentials)
    admin.goto(f"/auth/admin/users?q={username}")
    look(admin, "07-admin-users")
    check_header(admin)  # auth's header, signed in as an admin: its longest
    admin.get_by_role("link", name=username, exact=True).click()
    look(admin, "08-admin-user")
    admin.get_by_label("author").check()
    admin.get_by_role("button", name="Save roles").click()
    expect(admin.get_by_role("status")).to_contain_text(f"Roles of {username} saved")

    # The role change ended the writer's sessions: the blog asks them to sign in again.
    page.reload()
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()
    page.get_by_role("link", name="Sign in").first.click()
    log_in(page, username, PASSWORD)
    signed_in_as(page, username)
    check_header(page)  # the blog's header, signed in as an author: its longest
    problems.check()

    # --- write a post with Markdown and a cover image ---------------------------------------
    page.get_by_role("link", name="Write a post").click()
    look(page, "09-new-post")
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Summary").fill("What grows first.")
    page.get_by_label("Body", exact=True).fill(BODY)
    page.get_by_label("Tags").fill("garden, spring")
    page.get_by_label("Cover image", exact=True).set_input_files(
        files=[{"name": "cover.png", "mimeType": "image/png", "buffer": png_image()}]
    )
    page.get_by_label("Cover image description").fill("A blue rectangle")
    page.get_by_label("Published").check()
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    body = page.locator(".post-body")
    expect(body.locator("strong")).to_have_text("bold")
    expect(body.locator("li")).to_have_count(2)
    expect(body.locator("code")).to_contain_text('print("hello")')
    expect(body).to_contain_text("<script>")  # shown as text, never run
    expect(page).not_to_have_title("pwned")
    cover = page.get_by_role("img", name="A blue rectangle")
    expect(cover).to_be_visible()
    assert image_loaded(page, "img.cover")
    # Highlighted on the server: Pygments' token classes, coloured by a stylesheet.
    expect(body.locator("pre code span.nb")).to_have_text("print")
    post_url = page.url

    # --- the home page lists it -------------------------------------------------------------
    page.goto("/")
    expect(page.get_by_role("link", name=title)).to_be_visible()
    expect(page.locator("article.card", has_text=title).locator("img.card-cover")).to_be_visible()
    look(page, "10-home-author")
    problems.check()

    # --- comment ----------------------------------------------------------------------------
    page.goto(post_url)
    page.get_by_role("textbox", name="Comment").fill("First! The tulips are early this year.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.get_by_role("status")).to_contain_text("Comment added")
    expect(page.locator(".comment-body")).to_have_text("First! The tulips are early this year.")
    expect(page.get_by_role("heading", name="Comments (1)")).to_be_visible()
    look(page, "11-post")

    # --- an edit race: a second tab saves first; the first tab's save is refused ------------
    first = page
    first.get_by_role("link", name="Edit").click()
    second = writer.new_page()
    second.goto(first.url)

    second.get_by_label("Body", exact=True).fill("The second tab's version.")
    second.get_by_role("button", name="Save").click()
    expect(second.get_by_role("status")).to_contain_text("Post saved")

    mine = "The first tab's version, which must not be lost."
    first.get_by_label("Body", exact=True).fill(mine)
    with problems.expected(r"status of 409"):  # Chromium logs the 409 answer to the console
        first.get_by_role("button", name="Save").click()
        expect(first.get_by_role("alert")).to_contain_text("Someone else saved this post")
    expect(first.get_by_label("Body", exact=True)).to_have_value(mine)
    look(first, "12-edit-conflict")
    second.reload()
    expect(second.locator(".post-body")).to_have_text("The second tab's version.")
    second.close()

    # Saving again after reading the warning is a deliberate choice, and it is kept.
    first.get_by_role("button", name="Save").click()
    expect(first.get_by_role("status")).to_contain_text("Post saved")
    expect(first.locator(".post-body")).to_have_text(mine)
    problems.check()

    # --- sign out: the blog's sign-out link leads to auth, which ends every session ----------
    first.get_by_role("link", name="Sign out").click()
    expect(first).to_have_url(re.compile(r"/auth/"))
    look(first, "13-log-out")
    first.get_by_role("button", name="Sign out").first.click()
    expect(first.get_by_role("status")).to_contain_text("You are signed out")
    first.goto("/")
    expect(first.get_by_role("link", name="Sign in").first).to_be_visible()
    first.goto(post_url)
    expect(first.get_by_role("link", name="Edit")).to_have_count(0)
    with problems.expected(r"status of 404"):
        first.goto("/posts/no-such-post")
        look(first, "14-not-found")


@pytest.mark.parametrize("path", ["/", "/auth/login", "/api/docs"])
def test_the_watch_sees_an_inline_script_the_policy_blocks(
    browsers: BrowserFactory, problems: Problems, path: str
) -> None:
    """The guard of every test works: each service's CSP blocks inline script, and we hear it."""
    page = browsers("visitor").pages[0]
    page.goto(path)
    problems.check()  # the page itself is clean

    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "document.title = 'inline ran'";
            document.body.append(script);
        }"""
    )
    page.wait_for_timeout(200)  # the violation event is dispatched asynchronously

    assert page.title() != "inline ran"
    reported = [problem for problem in problems.seen if "CSP violation" in problem]
    assert reported, problems.seen
    assert "script-src" in reported[0]
    problems.seen.clear()  # seen and expected: not a failure of this test
