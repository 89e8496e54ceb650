"""Usernames and emails: NFKC-normalised, unique ignoring case in the database itself;
passwords NFKC-normalised before hashing (NIST SP 800-63B), old hashes still verifying."""

from __future__ import annotations

import threading
import time
import unicodedata
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from auth_service.accounts import lookup
from auth_service.extensions import db
from auth_service.models import User, new_session_token
from auth_service.passwords import hasher
from tests.support import csrf_token, login, register, stored_user


def test_eight_concurrent_registrations_of_one_name_in_three_cases_make_one_account(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Widen the gap between "is the name free?" and the commit, as a loaded server does.
    real_find_user = lookup.find_user

    def slow_find_user(login: str) -> User | None:
        found = real_find_user(login)
        time.sleep(0.05)
        return found

    monkeypatch.setattr("auth_service.accounts.views.find_user", slow_find_user)
    names = ["Frank", "frank", "FRANK"] * 3
    clients = [app.test_client() for _ in range(8)]
    tokens = [csrf_token(client) for client in clients]
    start = threading.Barrier(8)

    def attempt(number: int) -> tuple[int, str]:
        start.wait()
        data = {
            "username": names[number],
            "email": f"frank{number}@example.com",
            "password": "purple monkey dishwasher",
            "confirm": "purple monkey dishwasher",
            "csrf_token": tokens[number],
        }
        response = clients[number].post("/register", data=data)
        return response.status_code, response.get_data(as_text=True)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(8)))

    assert Counter(status for status, _ in results) == {302: 1, 200: 7}
    for status, page in results:
        if status == 200:
            assert "taken" in page
    with app.app_context():
        count = db.session.scalar(select(func.count()).where(func.lower(User.username) == "frank"))
    assert count == 1


@pytest.mark.parametrize("column", ["username", "email"])
def test_the_database_refuses_a_name_differing_only_in_case(app: Flask, column: str) -> None:
    def user(username: str, email: str) -> User:
        return User(
            username=username,
            email=email,
            password_hash="x",
            session_token=new_session_token(),
        )

    with app.app_context():
        db.session.add(user("frank", "frank@example.com"))
        db.session.commit()
        if column == "username":
            db.session.add(user("FRANK", "other@example.com"))
        else:  # written around the form, which lower-cases emails
            db.session.add(user("other", "Frank@Example.com"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_usernames_are_nfkc_normalised(app: Flask, client: FlaskClient) -> None:
    # Full-width letters: the same name on another keyboard, stored as the plain one.
    response = register(client, username="\uff26rank", email="frank@example.com")
    assert response.status_code == 302
    assert stored_user(app, "Frank").username == "Frank"
    other = app.test_client()
    page = register(other, username="frank", email="other@example.com").get_data(as_text=True)
    assert "This username is taken." in page


PASSWORD_TYPED = "cre\u0300me brulee pass"  # "è" as "e" + combining grave accent (NFD)
PASSWORD_NFC = unicodedata.normalize("NFKC", PASSWORD_TYPED)


def test_passwords_are_normalised_so_either_spelling_signs_in(
    app: Flask, client: FlaskClient
) -> None:
    data = {"password": PASSWORD_TYPED, "confirm": PASSWORD_TYPED}
    assert register(client, username="carol", email="carol@example.com", **data).status_code == 302
    for spelling in (PASSWORD_TYPED, PASSWORD_NFC):
        assert login(app.test_client(), "carol", spelling).status_code == 302


def test_a_hash_made_before_normalisation_still_verifies_and_is_upgraded(app: Flask) -> None:
    with app.app_context():
        legacy_hash = hasher().hash(PASSWORD_TYPED)  # as an older release stored it
        db.session.add(
            User(
                username="dave",
                email="dave@example.com",
                password_hash=legacy_hash,
                session_token=new_session_token(),
            )
        )
        db.session.commit()

    assert login(app.test_client(), "dave", PASSWORD_TYPED).status_code == 302

    upgraded = stored_user(app, "dave").password_hash
    assert upgraded != legacy_hash
    with app.app_context():
        assert hasher().verify(upgraded, PASSWORD_NFC)
    assert login(app.test_client(), "dave", PASSWORD_NFC).status_code == 302
