"""The api service's own settings, read from the environment (``API_<NAME>`` then ``<NAME>``).

The settings every service shares (database, secret key, identity, rate-limit storage...) come
from :class:`servicekit.settings.Settings`; this module adds only what the API needs on top.
"""

from __future__ import annotations

from typing import Any

from servicekit.settings import Env

#: API bodies are small JSON documents: refuse anything bigger early with a 413.
DEFAULT_MAX_CONTENT_LENGTH = 64 * 1024


def api_config_from_env(env: Env) -> dict[str, Any]:
    """Flask configuration keys for the api service, from the environment (and overrides)."""
    return {
        "MAX_CONTENT_LENGTH": env.integer(
            "MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH, minimum=1024
        ),
        # Browser origins allowed to call the API cross-origin; none by default, since the
        # gateway serves everything from one origin.
        "API_CORS_ORIGINS": list(env.comma_list("CORS_ORIGINS")),
        # Per token subject (or per address for calls without a valid token), per endpoint.
        "API_RATE_LIMIT": env.text("RATE_LIMIT", "300 per minute"),
    }
