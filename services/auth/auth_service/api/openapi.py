"""The OpenAPI 3.1 document of auth's JSON endpoints; views.py serves it at ``GET /openapi.json``.

Programs use three things here: the token endpoint, the public keys, the health checks. The
document is written by hand (there are no marshmallow schemas to build it from) and lists every
status each operation can answer: tests/test_openapi.py drives the app through it with
schemathesis, and `nox -s security` does the same through the gateway, so a status, a field or
a content type the code produces but the document does not describe fails the build.
"""

from __future__ import annotations

from typing import Any

from auth_service.passwords import MAX_LENGTH
from servicekit.errors import PROBLEM_MIMETYPE


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_MIMETYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _json(description: str, schema: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        **extra,
    }


#: A credential as the token endpoint accepts it: a string with something besides whitespace.
_CREDENTIAL = {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH * 2, "pattern": r"\S"}

_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "An error, as RFC 9457 problem details.",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "request_id": {"type": "string"},
            "errors": {
                "type": "object",
                "description": (
                    "For 422: the messages of each invalid member, by name (`_schema`: the "
                    "body as a whole)."
                ),
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
    "Credentials": {
        "description": (
            "A password grant (the default: username or email, password, and `otp` when the "
            "account uses two-factor sign-in) or a personal access token grant."
        ),
        "anyOf": [
            {
                "type": "object",
                "required": ["username", "password"],
                "properties": {
                    "grant_type": {"const": "password"},
                    "username": {**_CREDENTIAL, "description": "The username or the email."},
                    "password": _CREDENTIAL,
                    "otp": {
                        "type": "string",
                        "description": "A code from the authenticator app, or a recovery code.",
                    },
                },
            },
            {
                "type": "object",
                "required": ["grant_type", "token"],
                "properties": {
                    "grant_type": {"const": "personal_access_token"},
                    "token": {**_CREDENTIAL, "description": "A personal access token."},
                },
            },
        ],
    },
    "Token": {
        "type": "object",
        "required": ["access_token", "token_type", "expires_in"],
        "additionalProperties": False,
        "properties": {
            "access_token": {"type": "string", "description": "A signed JWT (EdDSA)."},
            "token_type": {"const": "Bearer"},
            "expires_in": {"type": "integer", "minimum": 1, "description": "Seconds."},
        },
    },
    "JWKS": {
        "type": "object",
        "required": ["keys"],
        "properties": {
            "keys": {
                "type": "array",
                "minItems": 1,
                "description": "Every published key; a token names its key in `kid`.",
                "items": {
                    "type": "object",
                    "required": ["kty", "crv", "x", "kid", "alg", "use"],
                    "properties": {
                        "kty": {"const": "OKP"},
                        "crv": {"const": "Ed25519"},
                        "x": {"type": "string"},
                        "kid": {"type": "string"},
                        "alg": {"const": "EdDSA"},
                        "use": {"const": "sig"},
                    },
                },
            }
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "service"],
        "properties": {
            "status": {"enum": ["ok", "unavailable"]},
            "service": {"type": ["string", "null"]},
            "checks": {
                "type": "object",
                "additionalProperties": {"enum": ["ok", "failed"]},
            },
        },
    },
}

#: Without ``servers``: the view adds the URL the app is mounted at.
DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "auth",
        "version": "1",
        "description": (
            "Bearer tokens for programs and the public keys that verify them. Errors are "
            "application/problem+json (RFC 9457), with the api's status codes: 400 for "
            "malformed JSON, 415 for a body that is not JSON, 422 with `errors` for invalid "
            "members. The token endpoint is rate limited per client address and per account, "
            "like the login form, whose fields have the same names (`username`, `password`)."
        ),
    },
    "paths": {
        "/api/token": {
            "post": {
                "operationId": "issueToken",
                "summary": "Exchange a password (or a personal access token) for a bearer token.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Credentials"}}
                    },
                },
                "responses": {
                    "200": _json(
                        "A token, valid for `expires_in` seconds; send it as "
                        "`Authorization: Bearer <access_token>` to blog and api.",
                        "Token",
                        headers={
                            "Cache-Control": {
                                "description": "`no-store`: a token is never cached.",
                                "required": True,
                                "schema": {"type": "string"},
                            }
                        },
                    ),
                    "400": _problem(
                        "The body is not well-formed JSON, or the URL or query string holds "
                        "text that cannot be stored (a NUL character or invalid Unicode)."
                    ),
                    "401": _problem(
                        "Wrong username or password (the same answer for both), a missing or "
                        "wrong two-factor code, or a personal token invalid, expired or revoked."
                    ),
                    "413": _problem("The body is larger than the limit (MAX_CONTENT_LENGTH)."),
                    "415": _problem("The body is not JSON (`Content-Type: application/json`)."),
                    "422": _problem(
                        "Well-formed JSON that is not an object, an unknown `grant_type`, or a "
                        "member missing, empty, too long or holding a NUL character or invalid "
                        "Unicode; `errors` lists the messages of each. The status codes and the "
                        "problem shape are the api's."
                    ),
                    "429": _problem("Too many attempts from this address or for this account."),
                },
            }
        },
        "/.well-known/jwks.json": {
            "get": {
                "operationId": "getJwks",
                "summary": "The public keys (JWKS) that verify identity tokens.",
                "responses": {"200": _json("Cacheable for five minutes.", "JWKS")},
            }
        },
        "/healthz": {
            "get": {
                "operationId": "getHealth",
                "summary": "Liveness: the process answers (no I/O).",
                "responses": {"200": _json("Alive.", "Health")},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "getReadiness",
                "summary": "Readiness: the database and the stores answer.",
                "responses": {
                    "200": _json("Ready.", "Health"),
                    "503": _json("A dependency failed; `checks` names it.", "Health"),
                },
            }
        },
    },
    "components": {"schemas": _SCHEMAS},
}
