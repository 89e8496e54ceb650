"""The card lists of the public list pages, rendered once per URL and shared for two seconds.

A list page (the home, a tag, an author) shows the same cards to everyone who opens its URL:
the query, its rows, each card with its tags and comment count, and the pagination links
depend on the URL and on the database, never on who asks. So its card list (posts/_list.html)
is rendered once and kept in this process, with the page of rows it came from (the author page
takes its heading from it), for ``BLOG_FRAGMENT_CACHE_SECONDS`` (default 2; 0 turns it off).
The layout around it, with the reader's name, the navigation and the flashed messages, is still
rendered on every request: a signed-in reader gets the shared cards inside a page of their own,
and nothing of any reader is ever kept.

How stale a list can be: every write this process makes that changes what a card shows (a post
published, edited or deleted, a comment added or deleted) forgets all the kept lists at once
(:func:`forget_after_write`). Other gunicorn workers and other replicas keep their own lists and
show the change within the TTL, the same bound as the gateway's micro-cache
(``caching.SHARED_CACHE_SECONDS``), to everyone but the writer: the write also marks the
writer's session, and for the TTL that session's lists are read afresh, so authors see their
own changes at once whichever worker answers them.

Why in the process rather than in Redis: a kept list costs a dictionary lookup, while Redis
would trade the database's round trip for another one, plus the client's work and the HTML sent
back: about what rendering the list costs. The price is a copy per process, a few kilobytes for
each of at most :data:`SIZE` URLs, and the staleness across processes said above.

Only a page that renders is kept: a link with a bad cursor (400), a page past either end, an
unknown tag or author (404) stop the request before anything is stored, and are answered as
before, every time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic, time
from typing import Any

from flask import Flask, current_app, request, session
from markupsafe import Markup

from blog_service.queries import Page

#: How many URLs' card lists a process keeps; past that, the one stored longest ago goes.
SIZE = 256
_EXTENSION_KEY = "blog.card_lists"
#: The session key holding the moment until which a writer's lists are read afresh.
_WROTE_UNTIL = "lists_fresh_until"


@dataclass(frozen=True)
class CardList:
    """A list page's cards and pagination links as HTML, and the page of rows they show."""

    page: Page
    html: Markup


def render(page: Page) -> Markup:
    """The cards and pagination links of ``page`` (posts/_list.html), rendered now."""
    # Not render_template: no context processor runs, so the template is given ``pagination``
    # and nothing of the reader (no current_user); the HTML is the same whoever asked first.
    template = current_app.jinja_env.get_template("posts/_list.html")
    return Markup(template.render(pagination=page))  # noqa: S704 - the template escaped it


class CardListCache:
    """One app's kept card lists by URL: expiring, bounded, shared by the process's threads."""

    def __init__(self) -> None:
        # gunicorn's gthread workers serve several requests at once: one lock guards the
        # entries, and is never held while a page is read or rendered.
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[Any, ...], tuple[float, CardList]] = OrderedDict()
        # Counts the times the lists were forgotten: see get_or_render.
        self._generation = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get_or_render(
        self, key: tuple[Any, ...], seconds: float, read_page: Callable[[], Page]
    ) -> CardList:
        """The list kept under ``key`` if it is younger than ``seconds``; otherwise
        ``read_page()`` rendered, and kept."""
        now = monotonic()
        with self._lock:
            kept = self._entries.get(key)
            generation = self._generation
        if kept is not None and now < kept[0]:
            return kept[1]
        # Two threads that miss the same URL at once both render it: that is what every request
        # cost before, and it spares the lock a wait on the database.
        page = read_page()
        card_list = CardList(page, render(page))
        with self._lock:
            # A write that forgot the lists while this page was read may not be in it: serve it
            # to this request (it began before the write), but do not keep it.
            if generation == self._generation:
                self._entries[key] = (now + seconds, card_list)
                self._entries.move_to_end(key)
                while len(self._entries) > SIZE:
                    self._entries.popitem(last=False)
        return card_list

    def clear(self) -> None:
        """Forget every kept list, and any list being read as this is called."""
        with self._lock:
            self._entries.clear()
            self._generation += 1


def init_app(app: Flask) -> None:
    """Give ``app`` its own cache: several apps share a process in tests and the embedded
    runner, each on its own database."""
    app.extensions[_EXTENSION_KEY] = CardListCache()


def _cache() -> CardListCache:
    cache: CardListCache = current_app.extensions[_EXTENSION_KEY]
    return cache


def _url_key() -> tuple[Any, ...]:
    """What a list's HTML depends on in its URL."""
    # The script root is in every link; the endpoint and its arguments name the list; the whole
    # query string picks the page (the cursor) and is copied into the pagination links (any
    # other argument too): an unknown argument only makes one more entry, and SIZE bounds them.
    view_args = tuple(sorted((request.view_args or {}).items()))
    return (request.script_root, request.endpoint, view_args, request.query_string)


def shared(read_page: Callable[[], Page]) -> CardList:
    """This URL's card list: the one kept from an earlier request within the TTL, or else
    ``read_page()`` rendered (and kept when it did not stop the request with an error)."""
    seconds = current_app.config["BLOG_FRAGMENT_CACHE_SECONDS"]
    if seconds <= 0 or session.get(_WROTE_UNTIL, 0) > time():
        page = read_page()  # a writer's own lists are never older than their write
        return CardList(page, render(page))
    return _cache().get_or_render(_url_key(), seconds, read_page)


def forget_all() -> None:
    """Forget every kept card list of this app (the CLI's writes; views use
    :func:`forget_after_write`)."""
    _cache().clear()


def forget_after_write() -> None:
    """Call after each commit of a view that changes what a list shows: this process forgets
    its lists, and the writer's session reads every list afresh for the TTL, as other
    processes may still hold lists from before the write until then."""
    forget_all()
    # Wall-clock time: the mark is read by other processes, whose monotonic clocks differ.
    session[_WROTE_UNTIL] = time() + current_app.config["BLOG_FRAGMENT_CACHE_SECONDS"]
