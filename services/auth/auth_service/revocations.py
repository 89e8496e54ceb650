"""Durable token revocation: the database decides, Redis tells every verifier.

Two kinds of marks, both written to the database in the same commit as the change that causes
them; that commit is the revocation, and nothing after it can undo it:

* logout, a password change, deactivation and a role change set the user's
  ``tokens_valid_after``, ending every token of the user
  (:func:`auth_service.sessions.end_all_sessions`);
* ending one device and revoking a personal access token add rows to ``revoked_tokens``
  (:func:`record_revoked_tokens`), ending those tokens only, by ``jti``.

Then the marks are *published*: copied into the revocation store (Redis in production) where
blog and api look for them on every request.

Publishing can fail (Redis stalled or down) and Redis can lose what it holds (it keeps nothing
on disk). Neither may bring a revoked token back:

* a failed publish is not an error for the user: the request goes on (a logout answers within
  the Redis timeout, never with a 500) and this process's :class:`Republisher` is asked to
  copy every recent mark from the database again, retrying until Redis answers;
* the republisher also checks, every ``AUTH_REVOCATION_CHECK_SECONDS``, that Redis still holds
  the *epoch* key; a Redis restarted empty has none, and verifiers treat every token as of
  unknown revocation state (servicekit.revocation) until the republisher has copied the marks
  back and written a new epoch.

docs/architecture.md ("When Redis is down") has the whole table.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping

from flask import Flask, current_app
from sqlalchemy import delete, select

from auth_service.extensions import db
from auth_service.models import RevokedToken, User
from servicekit.redisclient import DEFAULT_TIMEOUT_MS, is_redis_uri
from servicekit.revocation import (
    TOKEN_MARK_GRACE_SECONDS,
    RevocationStore,
    revocation_store_from_uri,
)

log = logging.getLogger("auth_service.revocations")

_STORE_KEY = "auth_service.revocation_store"
_REPUBLISHER_KEY = "auth_service.republisher"
#: Marks older than a token's lifetime plus this margin (the verifiers' expiry leeway and
#: clock skew) can be dropped: every token they revoke has expired anyway.
MARK_MARGIN_SECONDS = TOKEN_MARK_GRACE_SECONDS


def revocations() -> RevocationStore:
    """The revocation store blog and api consult (REVOCATION_STORE_URI), one per app."""
    store: RevocationStore | None = current_app.extensions.get(_STORE_KEY)
    if store is None:
        config = current_app.config
        store = revocation_store_from_uri(
            config["REVOCATION_STORE_URI"], config.get("REDIS_TIMEOUT_MS", DEFAULT_TIMEOUT_MS)
        )
        current_app.extensions[_STORE_KEY] = store
    return store


def publish_mark(user_id: int, at: float) -> bool:
    """Copy one committed mark to the store; on failure, have it republished. Never raises."""
    try:
        revocations().revoke_user_tokens(str(user_id), at)
    except Exception as error:  # the database has it: a republish will deliver it
        log.warning("could not publish the revocation mark of user %s: %s", user_id, error)
        _republish_soon()
        return False
    return True


def record_revoked_tokens(user_id: int, tokens: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Add the user's tokens (``jti``, expiry) still in use to ``revoked_tokens``.

    Does not commit: the caller commits with the change that revokes them, then publishes what
    this returns (:func:`publish_revoked_tokens`). Rows of tokens expired since are deleted on
    the way, so the table only ever holds what can still refuse a token.
    """
    horizon = time.time() - MARK_MARGIN_SECONDS
    db.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < horizon))
    live = {jti: expires_at for jti, expires_at in tokens if expires_at > horizon}
    for jti, expires_at in live.items():
        # merge, not add: a token revoked again (an older row of it) is one row, not an error.
        db.session.merge(RevokedToken(jti=jti, user_id=user_id, expires_at=expires_at))
    return live


def publish_revoked_tokens(tokens: Mapping[str, float]) -> bool:
    """Copy committed token revocations to the store; on failure, have them republished.

    Never raises: the database has them, so a stalled or absent Redis costs the request one
    timeout, not a 500.
    """
    if not tokens:
        return True
    try:
        revocations().revoke_tokens(tokens)
    except Exception as error:  # the database has them: a republish will deliver them
        log.warning("could not publish %d revoked tokens: %s", len(tokens), error)
        _republish_soon()
        return False
    return True


def _republish_soon() -> None:
    republisher = current_app.extensions.get(_REPUBLISHER_KEY)
    if republisher is not None:
        republisher.request()


def marks_to_publish(now: float) -> dict[str, float]:
    """Every user mark that can still refuse an unexpired token, from the database."""
    horizon = now - current_app.config["AUTH_TOKEN_LIFETIME"] - MARK_MARGIN_SECONDS
    rows = db.session.execute(
        select(User.id, User.tokens_valid_after).where(User.tokens_valid_after > horizon)
    )
    return {str(user_id): moment for user_id, moment in rows if moment is not None}


def revoked_tokens_to_publish(now: float) -> dict[str, float]:
    """Every revoked token a verifier could still accept (``jti``: expiry), from the database."""
    horizon = now - MARK_MARGIN_SECONDS
    rows = db.session.execute(
        select(RevokedToken.jti, RevokedToken.expires_at).where(RevokedToken.expires_at > horizon)
    )
    return {row.jti: row.expires_at for row in rows}


def republish_marks() -> int:
    """Copy every recent mark and revoked token to the store and renew its epoch; how many
    marks (of both kinds) were copied."""
    now = time.time()
    marks, tokens = marks_to_publish(now), revoked_tokens_to_publish(now)
    revocations().republish(marks, tokens)
    return len(marks) + len(tokens)


class Republisher:
    """A daemon thread per process that keeps Redis holding every mark of the database.

    It republishes when asked (a publish failed), when Redis holds no epoch (it restarted
    empty), and once when the process starts. Each worker of gunicorn runs its own: the thread
    starts after the fork, never in the preloading master.
    """

    def __init__(self, app: Flask, interval: float) -> None:
        self.app = app
        self.interval = interval
        self._pending = True  # a new process checks at once
        self._wake = threading.Event()
        self._started_in: int | None = None
        self._lock = threading.Lock()
        self._healthy = True
        self._stopped = False

    def request(self) -> None:
        """Republish as soon as possible (retried every interval until it succeeds)."""
        self._pending = True
        self._wake.set()

    def ensure_started(self) -> None:
        """Start the thread in this process if it does not run here yet (after a fork too)."""
        if self._started_in == os.getpid():
            return
        with self._lock:
            if self._started_in != os.getpid():
                self._started_in = os.getpid()
                self._wake = threading.Event()
                thread = threading.Thread(target=self._run, name="revocation-republisher")
                thread.daemon = True
                thread.start()

    def run_once(self) -> bool:
        """One check (and republish if needed); whether the store holds every mark now."""
        with self.app.app_context():
            try:
                if self._pending or revocations().needs_republish():
                    self._pending = False
                    count = republish_marks()
                    log.info("republished %d revocation marks", count)
            except Exception as error:
                self._pending = True
                if self._healthy:  # one line per outage, not one per second
                    log.warning("revocation store unavailable, will republish: %s", error)
                self._healthy = False
                return False
            finally:
                db.session.remove()
        if not self._healthy:
            log.info("revocation store available again")
        self._healthy = True
        return True

    def stop(self) -> None:
        """End the thread (tests that make many apps; a worker just exits)."""
        self._stopped = True
        self._wake.set()

    def _run(self) -> None:
        while not self._stopped:
            self.run_once()
            self._wake.wait(self.interval)
            self._wake.clear()


def republisher_of(app: Flask) -> Republisher | None:
    """The app's republisher (None with an in-memory store)."""
    found: Republisher | None = app.extensions.get(_REPUBLISHER_KEY)
    return found


def init_revocations(app: Flask) -> None:
    """Keep a Redis revocation store filled from the database (nothing to do in memory)."""
    if not is_redis_uri(app.config["REVOCATION_STORE_URI"]):
        return  # in-process memory: cannot lose a mark without losing the process
    republisher = Republisher(app, app.config["AUTH_REVOCATION_CHECK_SECONDS"])
    app.extensions[_REPUBLISHER_KEY] = republisher
    # gunicorn with preload_app forks workers from a master that serves no request: start in
    # each worker right after the fork; a process that never forks starts on its first request.
    os.register_at_fork(after_in_child=republisher.ensure_started)
    app.before_request(republisher.ensure_started)
