"""servicekit.claims: the claim set of an identity token and the role rule."""

from __future__ import annotations

import time

import pytest

from servicekit.claims import REQUIRED_CLAIMS, ROLES, identity_claims, passes_role_check


def test_the_claims_are_exactly_the_required_ones() -> None:
    claims = identity_claims(
        "7", "bob", ("author",), issuer="me", audience="you", lifetime=60, issued_at=1000.5
    )
    assert set(claims) == set(REQUIRED_CLAIMS)
    assert claims["sub"] == "7"
    assert claims["name"] == "bob"
    assert claims["roles"] == ["author"]
    assert (claims["iss"], claims["aud"]) == ("me", "you")
    assert (claims["iat"], claims["exp"]) == (1000.5, 1060.5)


def test_every_token_gets_its_own_id_and_the_current_time() -> None:
    before = time.time()
    first = identity_claims("1", "a", [], issuer="i", audience="a", lifetime=1)
    second = identity_claims("1", "a", [], issuer="i", audience="a", lifetime=1)
    assert first["jti"] != second["jti"]
    assert before <= first["iat"] <= second["iat"] <= time.time()
    assert first["exp"] == first["iat"] + 1


@pytest.mark.parametrize(
    ("held", "wanted", "passes"),
    [
        ({"author"}, ("author",), True),
        ({"reader"}, ("author",), False),
        ({"reader"}, ("author", "reader"), True),
        ({"admin"}, ("author",), True),
        ({"admin"}, (), True),
        (set(), (), False),
    ],
)
def test_one_role_suffices_and_admins_pass_every_check(
    held: set[str], wanted: tuple[str, ...], passes: bool
) -> None:
    assert passes_role_check(held, *wanted) is passes


def test_roles_weakest_first() -> None:
    assert ROLES == ("reader", "author", "admin")
