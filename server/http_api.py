"""The HTTP API's shared pieces: the app's services, JSON errors, request bodies, the caller.

Every endpoint is built with `api_route`, which turns `ApiError` and the storage layer's typed
errors into `{"error": {"code", "message"}}` responses and counts each response in the metrics
under its route template (never the raw path, so ids do not explode the label set).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from schema import repository as repo
from schema.models import User
from server.auth import InvalidToken, Passwords, TokenSigner, bearer_token
from server.config import Settings
from server.metrics import ServerMetrics

Endpoint = Callable[[Request], Awaitable[Response]]

MAX_JSON_BODY_BYTES: Final = 16 * 1024
# roles that may read any lesson, subscribed or not
STAFF_ROLES: Final = ("coach", "admin")


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tokens: TokenSigner
    passwords: Passwords
    metrics: ServerMetrics


def services(connection: HTTPConnection) -> Services:
    found = getattr(connection.app.state, "services", None)
    if not isinstance(found, Services):
        raise RuntimeError("the app's services are not running (was the lifespan started?)")
    return found


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.headers = dict(headers or {})


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = dict(details)
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"no such {what}")


def _storage_error(exc: repo.StorageError) -> ApiError:
    if isinstance(exc, repo.NotFound | repo.AccessDenied):
        # someone else's attempt looks exactly like a missing one: existence is not leaked
        return not_found("resource")
    return ApiError(409, "invalid_state", str(exc))


def api_route(path: str, endpoint: Endpoint, methods: Sequence[str] = ("GET",)) -> Route:
    async def handle(request: Request) -> Response:
        try:
            response = await endpoint(request)
        except ApiError as exc:
            response = error_response(
                exc.status, exc.code, exc.message, details=exc.details, headers=exc.headers
            )
        except repo.StorageError as exc:
            err = _storage_error(exc)
            response = error_response(err.status, err.code, err.message)
        services(request).metrics.http_requests.inc(labels=(path, str(response.status_code)))
        return response

    return Route(path, handle, methods=list(methods), name=endpoint.__name__)


# --- request bodies and parameters -------------------------------------------------------------


async def read_json_object(
    request: Request, *, allowed: Sequence[str], max_bytes: int = MAX_JSON_BODY_BYTES
) -> dict[str, Any]:
    """The request body as a JSON object with only `allowed` keys (400/413/415 otherwise)."""
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media_type.lower() != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
        raise ApiError(413, "body_too_large", f"the body may be at most {max_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise ApiError(413, "body_too_large", f"the body may be at most {max_bytes} bytes")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ApiError(
            400,
            "unknown_field",
            f"unknown field {unknown[0]!r}; allowed: {', '.join(allowed)}",
            details={"field": unknown[0]},
        )
    return data


def invalid_field(field: str, message: str) -> ApiError:
    return ApiError(400, "invalid_field", f"{field}: {message}", details={"field": field})


def string_field(body: Mapping[str, Any], field: str, *, min_len: int = 1, max_len: int) -> str:
    value = body.get(field)
    if value is None:
        raise ApiError(400, "missing_field", f"{field} is required", details={"field": field})
    if not isinstance(value, str):
        raise invalid_field(field, "must be a string")
    if not min_len <= len(value) <= max_len:
        raise invalid_field(field, f"must be {min_len} to {max_len} characters long")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise invalid_field(field, "must not contain control characters")
    return value


def int_query(request: Request, name: str, *, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ApiError(
            400,
            "invalid_parameter",
            f"{name} must be a whole number from {low} to {high}",
            details={"parameter": name},
        )
    return int(text)


def uuid_param(request: Request, name: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params[name])
    except ValueError:
        raise not_found(what) from None


# --- the caller ----------------------------------------------------------------------------------

_UNAUTHENTICATED_HEADERS: Final = {"WWW-Authenticate": 'Bearer realm="inkroom"'}


async def current_user(request: Request, db: AsyncSession) -> User:
    """The user the bearer token names, still present and active; 401 otherwise."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise ApiError(
            401,
            "unauthenticated",
            "send Authorization: Bearer <token> (from /api/auth/login)",
            headers=_UNAUTHENTICATED_HEADERS,
        )
    try:
        claims = services(request).tokens.verify(token)
    except InvalidToken as exc:
        code, message = (
            ("token_expired", "the token has expired: log in again")
            if exc.reason == "expired"
            else ("invalid_token", "the token is not valid")
        )
        raise ApiError(401, code, message, headers=_UNAUTHENTICATED_HEADERS) from None
    user = await repo.get_user(db, claims.user_id)
    if user is None or not user.is_active:
        raise ApiError(
            401, "invalid_token", "the token is not valid", headers=_UNAUTHENTICATED_HEADERS
        )
    return user


async def hash_password(request: Request, password: str) -> str:
    # argon2 takes tens of milliseconds of CPU: keep it off the event loop
    return await run_in_threadpool(services(request).passwords.hash, password)


async def verify_password(request: Request, password_hash: str | None, password: str) -> bool:
    return await run_in_threadpool(services(request).passwords.verify, password_hash, password)


# --- JSON shapes ---------------------------------------------------------------------------------


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def own_user_json(user: User) -> dict[str, Any]:
    """The caller's own account (never used for anyone else: it carries the email)."""
    return {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "locale": user.locale,
        "created_at": iso(user.created_at),
    }
