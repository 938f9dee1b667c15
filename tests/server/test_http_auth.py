from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from schema import repository as repo

if TYPE_CHECKING:
    from http_harness import Account, Api

GOOD = "Correct horse 7"

pytest_plugins = ["http_harness"]


def _email() -> str:
    return f"new-{uuid.uuid4().hex[:10]}@example.org"


def test_signup_answers_a_token_and_the_user(api: Api) -> None:
    email = _email()
    response = api.client.post(
        "/api/auth/signup",
        json={"email": email.upper(), "password": api.password, "display_name": " Ada "},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["email"] == email
    assert body["user"]["display_name"] == "Ada"
    assert body["user"]["role"] == "player"
    claims = api.signer.verify(body["token"])
    assert str(claims.user_id) == body["user"]["id"]


def test_signup_stores_an_argon2_hash_not_the_password(api: Api) -> None:
    account = api.signup()

    async def stored(db: AsyncSession) -> str | None:
        user = await repo.get_user(db, account.user_id)
        assert user is not None
        return user.password_hash

    password_hash = api.db(stored)
    assert password_hash is not None and password_hash.startswith("$argon2id$")
    assert api.password not in password_hash


@pytest.mark.parametrize(
    ("password", "reason"),
    [("short1A", "password_too_short"), ("onlylowercaseletters", "password_one_class")],
)
def test_signup_weak_password_is_refused_with_reasons(api: Api, password: str, reason: str) -> None:
    response = api.client.post(
        "/api/auth/signup", json={"email": _email(), "password": password, "display_name": "A"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "weak_password"
    assert reason in [r["code"] for r in error["details"]["reasons"]]


def test_signup_password_equal_to_email_is_refused(api: Api) -> None:
    email = _email()
    response = api.client.post(
        "/api/auth/signup", json={"email": email, "password": email, "display_name": "A"}
    )
    assert response.status_code == 400
    assert "password_is_email" in str(response.json())


def test_signup_taken_email_is_refused_whatever_its_case(api: Api) -> None:
    account = api.signup()
    response = api.client.post(
        "/api/auth/signup",
        json={"email": account.email.upper(), "password": api.password, "display_name": "B"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"email": "not-an-email", "password": GOOD, "display_name": "A"}, "invalid_field"),
        ({"email": 5, "password": GOOD, "display_name": "A"}, "invalid_field"),
        ({"password": GOOD, "display_name": "A"}, "missing_field"),
        ({"email": "a@example.org", "password": GOOD, "display_name": "   "}, "invalid_field"),
        ({"email": "a@example.org", "password": GOOD, "display_name": "x" * 101}, "invalid_field"),
        ({"email": "a@example.org", "password": GOOD, "display_name": "A\x00"}, "invalid_field"),
        ({"email": "a@x.org", "password": GOOD, "display_name": "A", "role": "x"}, "unknown_field"),
        ([1, 2], "invalid_body"),
    ],
)  # fmt: skip
def test_signup_invalid_body_is_a_clear_400(api: Api, body: object, code: str) -> None:
    response = api.client.post("/api/auth/signup", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_signup_malformed_json_is_a_400(api: Api) -> None:
    response = api.client.post(
        "/api/auth/signup", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_signup_oversized_body_is_a_413(api: Api) -> None:
    body = {"email": _email(), "password": api.password, "display_name": "x" * 20_000}
    response = api.client.post("/api/auth/signup", json=body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_signup_form_body_is_a_415(api: Api) -> None:
    response = api.client.post("/api/auth/signup", data={"email": "a@example.org"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_login_answers_a_fresh_token(api: Api) -> None:
    account = api.signup()
    response = api.client.post(
        "/api/auth/login", json={"email": account.email, "password": api.password}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == str(account.user_id)
    me = api.client.get("/api/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json()["user"]["id"] == str(account.user_id)


def test_login_wrong_password_and_unknown_email_look_the_same(api: Api) -> None:
    account = api.signup()
    wrong_password = api.client.post(
        "/api/auth/login", json={"email": account.email, "password": api.password + "x"}
    )
    unknown_email = api.client.post(
        "/api/auth/login", json={"email": _email(), "password": api.password}
    )
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.json()["error"]["code"] == "invalid_credentials"


def test_login_disabled_account_is_refused(api: Api) -> None:
    account = api.signup()
    _disable(api, account)
    response = api.client.post(
        "/api/auth/login", json={"email": account.email, "password": api.password}
    )
    assert response.status_code == 401


def _disable(api: Api, account: Account) -> None:
    async def work(db: AsyncSession) -> None:
        user = await repo.get_user(db, account.user_id)
        assert user is not None
        user.is_active = False

    api.db(work)


def test_me_answers_the_callers_own_account(api: Api) -> None:
    account = api.signup()
    response = api.client.get("/api/me", headers=account.headers)
    assert response.status_code == 200
    user = response.json()["user"]
    assert (user["id"], user["email"], user["subscribed"]) == (
        str(account.user_id),
        account.email,
        False,
    )


def test_me_refuses_a_disabled_accounts_token(api: Api) -> None:
    account = api.signup()
    _disable(api, account)
    response = api.client.get("/api/me", headers=account.headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_me_refuses_a_token_for_a_user_that_does_not_exist(api: Api) -> None:
    token = api.signer.issue(uuid.uuid4(), "admin")
    response = api.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
