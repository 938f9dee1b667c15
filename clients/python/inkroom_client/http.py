"""The few HTTP calls a WebSocket client needs first: sign up, log in, create a session (a room).

Shapes as in docs/api.md. Built on the standard library's urllib, run in a worker thread, not on
httpx: `inkroom_client` ships in the `inkroom` distribution, whose runtime dependencies do not
include httpx (only the dev extra does), and a load-test machine installing the project
without its dev extra must still be able to import the client.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from inkroom_client.errors import InkroomClientError


class HttpError(InkroomClientError):
    """A non-2xx answer: the HTTP status and the API's error `code` (docs/api.md)."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


class HttpApi:
    def __init__(self, base_url: str, token: str | None = None, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.user: dict[str, Any] | None = None
        self.timeout_s = timeout_s

    @property
    def ws_url(self) -> str:
        """The `/ws` endpoint beside this HTTP API (http -> ws, https -> wss)."""
        parts = urllib.parse.urlsplit(self.base_url)
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        return urllib.parse.urlunsplit((scheme, parts.netloc, parts.path + "/ws", "", ""))

    async def signup(self, email: str, password: str, display_name: str) -> str:
        """`POST /api/auth/signup`; returns the token and keeps it (and `user`) for later calls."""
        body = {"email": email, "password": password, "display_name": display_name}
        return self._keep(await self.request("POST", "/api/auth/signup", body))

    async def login(self, email: str, password: str) -> str:
        """`POST /api/auth/login`; returns the token and keeps it (and `user`) for later calls."""
        body = {"email": email, "password": password}
        return self._keep(await self.request("POST", "/api/auth/login", body))

    async def create_session(self, lesson: str) -> dict[str, Any]:
        """`POST /api/sessions` (needs the token): a waiting room, the caller its host. Returns
        the `session` object; its `join_code` is what others send in `join_room`."""
        answer = await self.request("POST", "/api/sessions", {"lesson": lesson})
        session: dict[str, Any] = answer["session"]
        return session

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One JSON call; `HttpError` for any status outside 2xx."""
        return await asyncio.to_thread(self._request, method, path, body)

    def _keep(self, answer: dict[str, Any]) -> str:
        token: str = answer["token"]
        self.token = token
        self.user = answer.get("user")
        return token

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                raise _http_error(exc.code, exc.read()) from None
        answer = json.loads(raw) if raw else {}
        if not isinstance(answer, dict):
            raise HttpError(200, "invalid_answer", "the answer is not a JSON object")
        return answer


def _http_error(status: int, raw: bytes) -> HttpError:
    try:
        error = json.loads(raw)["error"]
        return HttpError(status, str(error["code"]), str(error["message"]), error.get("details"))
    except (ValueError, KeyError, TypeError):
        return HttpError(status, "http_error", raw[:200].decode(errors="replace"))
