"""Durable token revocation: the database decides, Redis tells every verifier.

Logout, a password change, deactivation and a role change set the user's
``tokens_valid_after`` in the database, in the same commit that ends their sessions
(:func:`auth_service.sessions.end_all_sessions`). That commit is the revocation; nothing after
it can undo it. Then the mark is *published*: copied into the revocation store (Redis in
production) where blog and api look for it on every request.

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

from flask import Flask, current_app
from sqlalchemy import select

from auth_service.extensions import db
from auth_service.models import User
from servicekit.redisclient import DEFAULT_TIMEOUT_MS, is_redis_uri
from servicekit.revocation import RevocationStore, revocation_store_from_uri

log = logging.getLogger("auth_service.revocations")

_STORE_KEY = "auth_service.revocation_store"
_REPUBLISHER_KEY = "auth_service.republisher"
#: Marks older than a token's lifetime plus this margin (the verifiers' expiry leeway and
#: clock skew) can be dropped: every token they revoke has expired anyway.
MARK_MARGIN_SECONDS = 120


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
        republisher = current_app.extensions.get(_REPUBLISHER_KEY)
        if republisher is not None:
            republisher.request()
        return False
    return True


def marks_to_publish(now: float) -> dict[str, float]:
    """Every user mark that can still refuse an unexpired token, from the database."""
    horizon = now - current_app.config["AUTH_TOKEN_LIFETIME"] - MARK_MARGIN_SECONDS
    rows = db.session.execute(
        select(User.id, User.tokens_valid_after).where(User.tokens_valid_after > horizon)
    )
    return {str(user_id): moment for user_id, moment in rows if moment is not None}


def republish_marks() -> int:
    """Copy every recent mark to the store and renew its epoch; how many marks were copied."""
    marks = marks_to_publish(time.time())
    revocations().republish(marks)
    return len(marks)


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
