"""Every authenticated endpoint refuses a missing, expired, tampered or foreign token."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

import pytest

from server.auth import TokenSigner

if TYPE_CHECKING:
    from http_harness import Api

pytest_plugins = ["http_harness"]

AUTHENTICATED = [
    ("GET", "/api/me"),
    ("GET", "/api/lessons/steady-lines"),
    ("POST", "/api/sessions"),
    ("GET", f"/api/sessions/{uuid.uuid4()}"),
    ("GET", "/api/me/attempts"),
    ("GET", "/api/me/progress"),
    ("GET", f"/api/attempts/{uuid.uuid4()}/replay"),
    ("GET", "/api/me/sessions"),
    ("GET", f"/api/sessions/{uuid.uuid4()}/steps/0/replay"),
    ("GET", "/api/me/coaches"),
    ("POST", "/api/me/coaches"),
    ("DELETE", f"/api/me/coaches/{uuid.uuid4()}"),
    ("GET", "/api/coach/learners"),
    ("GET", f"/api/learners/{uuid.uuid4()}/attempts"),
]
# a valid body for each POST, so only the token can be what is refused
BODIES = {
    "/api/sessions": {"lesson": "steady-lines"},
    "/api/me/coaches": {"email": "c@example.org"},
}


def _headers(api: Api, kind: str) -> dict[str, str]:
    account = api.signup()
    if kind == "none":
        return {}
    if kind == "not_bearer":
        return {"Authorization": f"Basic {account.token}"}
    if kind == "expired":
        token = api.signer.issue(account.user_id, "player", now=time.time() - 8 * 24 * 3600)
    elif kind == "tampered":
        other = api.signer.issue(uuid.uuid4(), "admin")
        version, _payload, signature = account.token.split(".")
        token = f"{version}.{other.split('.')[1]}.{signature}"
    elif kind == "other_key":
        token = TokenSigner(b"another-key-" * 4).issue(account.user_id, "player")
    else:
        token = "garbage"
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("method", "path"), AUTHENTICATED)
@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("none", "unauthenticated"),
        ("not_bearer", "unauthenticated"),
        ("expired", "token_expired"),
        ("tampered", "invalid_token"),
        ("other_key", "invalid_token"),
        ("garbage", "invalid_token"),
    ],
)
def test_access_refuses_bad_tokens(api: Api, method: str, path: str, kind: str, code: str) -> None:
    body = BODIES[path] if method == "POST" else None
    response = api.client.request(method, path, headers=_headers(api, kind), json=body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert response.headers["www-authenticate"].startswith("Bearer")
