"""Verifying the identity tokens the auth service issues: keys, signature, claims, revocation.

auth signs short-lived JWTs with a private key and publishes the public keys as a JWKS. The
other services hold no secret that could mint a token: they fetch the JWKS (or read it from a
file or configuration), check every token locally, and ask the revocation store whether the
token, or every token of its user, was revoked since it was issued.

When the store cannot answer (Redis stalled, or restarted and not yet refilled by auth), a
token that is otherwise valid is neither accepted nor called invalid: the verifier raises
:class:`RevocationStateUnknownError`, and each caller applies the rule for its use
(docs/architecture.md, "When Redis is down"): browsers may *read* pages with it, nobody may
*write* with it, and the API refuses it with a 503 a client can retry.

A token is checked in full (header, key, signature, issuer, audience, times) once; the claims
are then kept for that exact token text (:data:`VERIFIED_TOKENS_KEPT` of them), so the next
request with it costs a dictionary look-up, an expiry check and a look at the key that verified
it, which must still be the one published under its key id. Revocation is asked every time.

No Flask here: :mod:`servicekit.identity` attaches a verifier to an app, and
:mod:`servicekit.identitycookie` (browsers) and :mod:`servicekit.bearer` (API clients) use it.
"""

# length: a token's checks (keys, signature, claims, the verified-token memory, revocation) are
# one sequence, read in order; Identity is what they produce.
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import jwt

from servicekit.claims import ADMIN, REQUIRED_CLAIMS, passes_role_check
from servicekit.revocation import RevocationStore
from servicekit.settings import ConfigError
from servicekit.tracing import client_span

log = logging.getLogger(__name__)

#: Asymmetric algorithms only: a verifier must never accept ``none`` or an HMAC "signature"
#: made with the public key as the secret.
ALLOWED_ALGORITHMS = frozenset({"EdDSA", "Ed25519", "RS256", "PS256", "ES256"})


class TokenError(Exception):
    """The token is not acceptable; the message says why (for logs, not for the client)."""


class RevocationStateUnknownError(TokenError):
    """The token is genuine and unexpired, but whether it was revoked cannot be checked now.

    A TokenError, so code that does not know about degraded modes refuses it (fail closed);
    ``identity`` is who it names, for the uses that may accept it (read-only pages).
    """

    def __init__(self, identity: Identity) -> None:
        super().__init__("revocation state unknown (revocation store unavailable)")
        self.identity = identity


class KeysUnavailableError(TokenError):
    """The token names a key the verifier does not hold, and the JWKS could not be fetched to
    look for it: whether the token is genuine cannot be told now, which is not "forged".

    A TokenError, so code that does not know about it refuses the token (fail closed);
    :func:`servicekit.identity.verify_once_per_request` answers it with a 503 and Retry-After.
    """


#: Asks whether a token (its ``jti``) or every token of its user (``sub``) was revoked: the
#: revocation store's :meth:`~servicekit.revocation.RevocationStore.lookup` by default, or an
#: answer a caller already fetched together with its own Redis commands.
RevocationLookup = Callable[[str, str], tuple[bool, float | None]]

#: After a failed JWKS fetch, how soon a token naming an unknown key may have it fetched
#: again (rather than ``refetch_interval``): a new replica whose first fetch found auth busy
#: must not refuse every token for the whole interval.
FAILED_FETCH_RETRY_SECONDS = 1.0

#: How many verified tokens a verifier remembers (about 2 KB each); when full it starts afresh.
#: A client sends the same token for many requests: checking its Ed25519 signature and decoding
#: it again each time was most of the cost of a token (docs/benchmarks.md, "API").
VERIFIED_TOKENS_KEPT = 1024


class _Verified(NamedTuple):
    """A token whose signature and claims passed: its claims, and the key that verified it."""

    claims: dict[str, Any]
    kid: str
    key: jwt.PyJWK


@dataclass(frozen=True)
class Identity:
    """Who a verified token says the caller is. Works as a Flask-Login user."""

    id: str
    name: str
    roles: frozenset[str]
    token_id: str = ""
    issued_at: float = 0.0
    expires_at: float = 0.0
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    #: False when the revocation store could not be asked (see RevocationStateUnknownError).
    revocation_checked: bool = True

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        """The user id, as Flask-Login expects."""
        return self.id

    def has_role(self, *roles: str) -> bool:
        """Whether the user has one of ``roles``; an admin passes every role check."""
        return passes_role_check(self.roles, *roles)

    @property
    def is_admin(self) -> bool:
        """Whether the user administers the system."""
        return ADMIN in self.roles

    @property
    def scopes(self) -> frozenset[str] | None:
        """The scopes a token for an API client is limited to (its ``scope`` claim, RFC 8693),
        or None for a token with the user's full rights (from a browser session or a password).
        """
        scope = self.claims.get("scope")
        if scope is None:
            return None
        return frozenset(scope.split()) if isinstance(scope, str) else frozenset()

    def allows(self, scope: str) -> bool:
        """Whether the token may be used for ``scope`` (always, when it carries no scopes)."""
        scopes = self.scopes
        return scopes is None or scope in scopes


class TokenVerifier:
    """Checks signature, algorithm, issuer, audience, expiry and revocation of identity tokens.

    Keys come from exactly one of: ``jwks`` (a JWKS dict, for tests and static configuration),
    ``jwks_file`` (re-read when it changes: the auth service's development key file), or
    ``jwks_url`` (fetched, cached for ``cache_seconds``, and refetched at most once every
    ``refetch_interval`` seconds when a token names a key id the cache does not know).
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        revocations: RevocationStore,
        jwks: Mapping[str, Any] | None = None,
        jwks_file: str | None = None,
        jwks_url: str | None = None,
        leeway: float = 30.0,
        cache_seconds: float = 300.0,
        refetch_interval: float = 30.0,
        http_timeout: float = 3.0,
    ) -> None:
        if sum(source is not None for source in (jwks, jwks_file, jwks_url)) != 1:
            raise ConfigError("a TokenVerifier needs exactly one of jwks, jwks_file or jwks_url")
        self.issuer = issuer
        self.audience = audience
        self.revocations = revocations
        self.leeway = leeway
        self.cache_seconds = cache_seconds
        self.refetch_interval = refetch_interval
        self.http_timeout = http_timeout
        self._jwks_file = jwks_file
        self._jwks_url = jwks_url
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_at = float("-inf")
        self._attempted_at = float("-inf")
        self._file_mtime: float | None = None
        #: The last attempt to load the keys failed (the JWKS did not answer).
        self._fetch_failed = False
        self._lock = threading.Lock()
        self._verified: dict[str, _Verified] = {}
        if jwks is not None:
            self._keys = parse_jwks(jwks)
            self._loaded_at = float("inf")

    # -- keys ---------------------------------------------------------------------------------

    def _read_source(self) -> Mapping[str, Any]:
        if self._jwks_file is not None:
            return dict(json.loads(Path(self._jwks_file).read_text()))
        assert self._jwks_url is not None
        # The fetch joins the request's trace: auth logs the same trace id.
        with client_span("GET jwks", **{"url.full": self._jwks_url}) as headers:
            fetch = urllib.request.Request(self._jwks_url, headers=headers)  # noqa: S310
            with urllib.request.urlopen(fetch, timeout=self.http_timeout) as response:  # noqa: S310
                return dict(json.loads(response.read()))

    def _refresh(self, *, force: bool) -> None:
        now = time.monotonic()
        with self._lock:
            if self._jwks_file is not None:
                try:
                    mtime = Path(self._jwks_file).stat().st_mtime
                except OSError:
                    log.warning("JWKS file %s is missing", self._jwks_file)
                    return
                if mtime == self._file_mtime:
                    return
            elif self._jwks_url is None:
                return  # static keys
            else:
                fresh = now - self._loaded_at < self.cache_seconds
                if fresh and not force:
                    return
                interval = self.refetch_interval
                if self._fetch_failed:
                    interval = min(interval, FAILED_FETCH_RETRY_SECONDS)
                if now - self._attempted_at < interval:
                    return  # a token with an unknown kid must not make us hammer the JWKS
            self._attempted_at = now
            try:
                keys = parse_jwks(self._read_source())
            except Exception:  # keep the old keys: a JWKS outage must not log everyone out
                log.warning("could not load the JWKS", exc_info=True)
                self._fetch_failed = True
                return
            self._fetch_failed = False
            self._keys = keys
            self._loaded_at = now
            if self._jwks_file is not None:
                self._file_mtime = Path(self._jwks_file).stat().st_mtime

    def key_for(self, kid: str) -> jwt.PyJWK:
        """The public key with id ``kid``, refetching the JWKS once if it is unknown.

        Raises :class:`KeysUnavailableError` if it is unknown and the JWKS could not be fetched.
        """
        self._refresh(force=False)
        key = self._keys.get(kid)
        if key is None:
            self._refresh(force=True)
            key = self._keys.get(kid)
        if key is None and self._fetch_failed:
            raise KeysUnavailableError(f"unknown key id {kid!r}, and the JWKS did not answer")
        if key is None:
            raise TokenError(f"unknown key id {kid!r}")
        return key

    # -- tokens -------------------------------------------------------------------------------

    def verify(self, token: str, lookup: RevocationLookup | None = None) -> Identity:
        """Return the identity in ``token``, or raise TokenError.

        ``lookup`` answers the revocation question instead of the store, for a caller that
        already asked it (see :meth:`signed_identity`).
        """
        return self.check_revocation(self.signed_identity(token), lookup)

    def signed_identity(self, token: str) -> Identity:
        """The identity in ``token`` after every check but revocation: keys, signature, claims.

        Its ``revocation_checked`` is False: only for a caller that then asks the revocation
        store in a round trip of its own (the api sends that question with its rate-limit
        count) and finishes with :meth:`verify`. Raises :class:`TokenError`.
        """
        return self._identity(self._remembered_claims(token) or self._checked_claims(token))

    def _remembered_claims(self, token: str) -> dict[str, Any] | None:
        """The claims of ``token`` if it passed before and nothing it rests on has changed."""
        known = self._verified.get(token)
        if known is None:
            return None
        self._refresh(force=False)
        if self._keys.get(known.kid) is not known.key:  # rotated out, or the JWKS reloaded
            self._verified.pop(token, None)
            return None
        # What PyJWT's check of exp would say now: the only claim that turns a good token bad.
        if known.claims["exp"] <= time.time() - self.leeway:
            self._verified.pop(token, None)
            raise TokenError("invalid token: Signature has expired")
        return known.claims

    def _checked_claims(self, token: str) -> dict[str, Any]:
        """The claims of ``token`` after every check of its header, signature and claims."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenError(f"malformed token: {error}") from None
        algorithm = header.get("alg")
        kid = header.get("kid")
        if algorithm not in ALLOWED_ALGORITHMS:
            raise TokenError(f"algorithm {algorithm!r} is not allowed")
        if not isinstance(kid, str):
            raise TokenError("token has no key id")
        key = self.key_for(kid)
        if algorithm != key.algorithm_name and {algorithm, key.algorithm_name} != {
            "EdDSA",
            "Ed25519",
        }:
            raise TokenError(f"algorithm {algorithm!r} does not match key {kid!r}")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.PyJWTError as error:
            raise TokenError(f"invalid token: {error}") from None
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()
        self._verified[token] = _Verified(claims, kid, key)
        return claims

    def _identity(self, claims: dict[str, Any]) -> Identity:
        subject, name, roles, jti = claims["sub"], claims["name"], claims["roles"], claims["jti"]
        if not (isinstance(subject, str) and isinstance(name, str) and isinstance(jti, str)):
            raise TokenError("sub, name and jti must be strings")
        if not (isinstance(roles, list) and all(isinstance(role, str) for role in roles)):
            raise TokenError("roles must be a list of strings")
        return Identity(
            id=subject,
            name=name,
            roles=frozenset(roles),
            token_id=jti,
            issued_at=float(claims["iat"]),
            expires_at=float(claims["exp"]),
            claims=claims,
            revocation_checked=False,  # until check_revocation says so
        )

    def check_revocation(self, identity: Identity, lookup: RevocationLookup | None) -> Identity:
        """``identity`` unless its token, or every token of its user since, was revoked.

        ``lookup`` (default: the store's) answers; when it cannot, the token is neither
        accepted nor refused: :class:`RevocationStateUnknownError`.
        """
        try:
            revoked, valid_after = (lookup or self.revocations.lookup)(
                identity.token_id, identity.id
            )
        except Exception as error:  # unreachable, or it may have lost marks: never "not revoked"
            log.warning("revocation state unknown: %s", error)
            raise RevocationStateUnknownError(identity) from None
        if revoked:
            raise TokenError("token was revoked")
        if valid_after is not None and identity.issued_at < valid_after:
            raise TokenError("token was issued before its user's sessions were revoked")
        return replace(identity, revocation_checked=True)


def parse_jwks(jwks: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    """Map each key id of a JWKS document to its key; keys without ``kid`` are skipped."""
    keys: dict[str, jwt.PyJWK] = {}
    for entry in jwks.get("keys", []):
        kid = entry.get("kid")
        if isinstance(kid, str) and entry.get("use", "sig") == "sig":
            keys[kid] = jwt.PyJWK(entry)
    return keys
