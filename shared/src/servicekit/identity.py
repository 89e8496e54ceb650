"""The app's token verifier, and the identity of the current request, verified once.

:func:`init_identity` builds a :class:`~servicekit.verifier.TokenVerifier` from the app's
configuration; :func:`verify_once_per_request` is what both sides use to read a token:
:mod:`servicekit.identitycookie` for browsers (the identity cookie, Flask-Login) and
:mod:`servicekit.bearer` for API clients (the ``Authorization`` header).
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, g
from werkzeug.exceptions import ServiceUnavailable

from servicekit.redisclient import DEFAULT_TIMEOUT_MS
from servicekit.revocation import revocation_store_from_uri
from servicekit.settings import ConfigError
from servicekit.verifier import (
    Identity,
    KeysUnavailableError,
    RevocationLookup,
    RevocationStateUnknownError,
    TokenError,
    TokenVerifier,
)

log = logging.getLogger(__name__)

#: Seconds a client should wait before retrying when a token cannot be checked (its revocation
#: state, or the key that signed it).
RETRY_AFTER_SECONDS = 2

_EXTENSION_KEY = "servicekit.identity"


def init_identity(app: Flask, verifier: TokenVerifier | None = None) -> TokenVerifier:
    """Attach a TokenVerifier to ``app``, built from its configuration unless one is given.

    Configuration: ``AUTH_JWKS`` (a dict), ``AUTH_JWKS_FILE`` or ``AUTH_JWKS_URL``, with
    ``AUTH_ISSUER``, ``AUTH_AUDIENCE`` and ``REVOCATION_STORE_URI``.
    """
    if verifier is None:
        config = app.config
        sources = {
            "jwks": config.get("AUTH_JWKS"),
            "jwks_file": config.get("AUTH_JWKS_FILE"),
            "jwks_url": config.get("AUTH_JWKS_URL"),
        }
        chosen = {name: value for name, value in sources.items() if value}
        if len(chosen) != 1:
            raise ConfigError(
                "set exactly one of AUTH_JWKS_URL (production: the auth service's "
                "/auth/.well-known/jwks.json) or AUTH_JWKS_FILE to verify identity tokens"
            )
        verifier = TokenVerifier(
            issuer=config["AUTH_ISSUER"],
            audience=config["AUTH_AUDIENCE"],
            revocations=revocation_store_from_uri(
                config.get("REVOCATION_STORE_URI", "memory://"),
                config.get("REDIS_TIMEOUT_MS", DEFAULT_TIMEOUT_MS),
            ),
            **chosen,
        )
    app.extensions[_EXTENSION_KEY] = verifier
    return verifier


def get_verifier() -> TokenVerifier:
    """The current app's TokenVerifier."""
    verifier: TokenVerifier = current_app.extensions[_EXTENSION_KEY]
    return verifier


def verify_once_per_request(token: str, lookup: RevocationLookup | None = None) -> Identity | None:
    """The identity in ``token``; None if invalid; its revocation state may be unchecked
    (``Identity.revocation_checked``): each caller decides what that allows. A token signed by
    a key the verifier cannot fetch now is a 503 with Retry-After (never "invalid").

    ``lookup`` answers the revocation question instead of the store: the api asks it in the
    round trip that counts the request (``api_service.ratelimit``).
    """
    # A request may ask more than once (a rate-limit key, then the view): verifying costs a
    # signature check and revocation-store round trips, so the answer is kept for the request.
    if g.get("verified_token") == token:
        identity: Identity | None = g.get("identity")
        return identity
    g.verified_token = token
    try:
        identity = get_verifier().verify(token, lookup)
    except RevocationStateUnknownError as unknown:
        identity = unknown.identity
    except KeysUnavailableError as error:
        # Neither valid nor invalid: a 401 would tell a client to throw a good token away
        # (a new replica whose first JWKS fetch found auth busy). Asked again in this request
        # (an error page rendering the user's state), the answer is "nobody".
        log.warning("identity token cannot be checked now: %s", error)
        g.pop("identity", None)
        raise ServiceUnavailable(
            "Sign-ins cannot be checked right now; nothing was changed. "
            "Please try again in a moment.",
            retry_after=RETRY_AFTER_SECONDS,
        ) from None
    except TokenError as error:
        log.info("identity token refused: %s", error)
        g.pop("identity", None)
        return None
    g.identity = identity
    g.user_id = identity.id
    return identity
