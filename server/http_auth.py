"""Accounts: sign-up, login, and the caller's own account."""

from __future__ import annotations

import re
from typing import Final

from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from schema import repository as repo
from schema.models import User
from server.auth import MAX_PASSWORD_LENGTH, password_problems
from server.http_api import (
    ApiError,
    api_route,
    current_user,
    hash_password,
    invalid_field,
    own_user_json,
    read_json_object,
    services,
    string_field,
    verify_password,
)

# deliberately loose: the address is proven by mail, not by a regex
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
MAX_EMAIL_LENGTH: Final = 320
MAX_DISPLAY_NAME_LENGTH: Final = 100


def _token_response(request: Request, user: User, status: int) -> JSONResponse:
    token = services(request).tokens.issue(user.id, user.role)
    return JSONResponse({"token": token, "user": own_user_json(user)}, status_code=status)


def _email(value: str) -> str:
    email = value.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise invalid_field("email", "not an email address")
    return email


async def signup(request: Request) -> Response:
    body = await read_json_object(request, allowed=("email", "password", "display_name"))
    email = _email(string_field(body, "email", max_len=MAX_EMAIL_LENGTH))
    password = string_field(body, "password", min_len=0, max_len=MAX_PASSWORD_LENGTH * 4)
    display_name = string_field(body, "display_name", max_len=MAX_DISPLAY_NAME_LENGTH).strip()
    if not display_name:
        raise invalid_field("display_name", "must not be blank")
    problems = password_problems(password, email=email)
    if problems:
        raise ApiError(
            400,
            "weak_password",
            "; ".join(p.message for p in problems),
            details={"reasons": [{"code": p.code, "message": p.message} for p in problems]},
        )
    password_hash = await hash_password(request, password)
    try:
        async with services(request).sessions.begin() as db:
            if await repo.user_by_email(db, email) is not None:
                raise ApiError(409, "email_taken", "an account with this email already exists")
            user = await repo.create_user(
                db, email=email, display_name=display_name, password_hash=password_hash
            )
    except IntegrityError:
        # two sign-ups with one email at the same moment: the unique index decides
        raise ApiError(409, "email_taken", "an account with this email already exists") from None
    return _token_response(request, user, 201)


async def login(request: Request) -> Response:
    body = await read_json_object(request, allowed=("email", "password"))
    email = string_field(body, "email", max_len=MAX_EMAIL_LENGTH).strip().lower()
    password = string_field(body, "password", min_len=0, max_len=MAX_PASSWORD_LENGTH * 4)
    async with services(request).sessions.begin() as db:
        user = await repo.user_by_email(db, email)
    usable = user is not None and user.is_active
    # verified even for an unknown email (against a dummy hash): same answer, same cost
    ok = await verify_password(request, user.password_hash if user else None, password)
    if user is None or not (ok and usable):
        raise ApiError(401, "invalid_credentials", "wrong email or password")
    return _token_response(request, user, 200)


async def me(request: Request) -> Response:
    async with services(request).sessions.begin() as db:
        user = await current_user(request, db)
        subscribed = await repo.has_active_subscription(db, user.id)
    return JSONResponse({"user": {**own_user_json(user), "subscribed": subscribed}})


ROUTES: Final[list[Route]] = [
    api_route("/api/auth/signup", signup, ["POST"]),
    api_route("/api/auth/login", login, ["POST"]),
    api_route("/api/me", me),
]
