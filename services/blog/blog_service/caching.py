"""HTTP caching of the public pages: conditional GET for everyone, a short shared cache for
anonymous readers.

Every public page answers with an ETag (a hash of the page as rendered), so a browser that
already holds the page gets a 304 without the body. A page rendered for an anonymous reader is
the same for every anonymous reader, so it is marked ``public, s-maxage=2``: the nginx gateway
keeps it for two seconds and answers a burst of readers from one rendering (see the gateway's
``pages`` cache). Browsers still ask each time (``max-age=0``): a reader who signs in sees
their own page at once. A page rendered for someone signed in holds their name and form
tokens: it is ``private, no-cache`` and never shared.

Behind the gateway, card_lists.py shares what such a page has in common with every other
reader's, the list of cards, inside each process for the same two seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec

from flask import make_response, request
from flask_login import current_user
from werkzeug.wrappers import Response

P = ParamSpec("P")

#: How long the gateway may serve an anonymous page without asking the blog again: short
#: enough that a new post or comment shows within moments, long enough to absorb a burst.
SHARED_CACHE_SECONDS = 2


def cacheable_page(view: Callable[P, Any]) -> Callable[P, Response]:
    """Give ``view``'s successful answers an ETag (304 when it matches) and cache headers."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> Response:
        response = make_response(view(*args, **kwargs))
        if response.status_code != 200:
            return response
        cache = response.cache_control
        if current_user.is_authenticated:
            cache.private = True
            cache.no_cache = True
        else:
            cache.public = True
            cache.max_age = 0
            cache.s_maxage = SHARED_CACHE_SECONDS
        # The page depends on who asks, and who asks is in the cookies.
        response.vary.add("Cookie")
        response.add_etag(weak=True)
        return response.make_conditional(request)

    return wrapped
