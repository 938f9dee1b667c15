"""The HTTP helper against a small threaded HTTP server that records each request."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from inkroom_client import HttpApi, HttpError

USER = {"id": "f47ac10b", "email": "ada@example.org", "display_name": "Ada"}


class Recorder(BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, str, str | None, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append((self.command, self.path, self.headers["Authorization"], body))
        if self.path == "/api/auth/login" and body["password"] != "Correct horse 7":
            self._answer(401, {"error": {"code": "invalid_credentials", "message": "no"}})
        elif self.path in ("/api/auth/signup", "/api/auth/login"):
            self._answer(201, {"token": f"token-for-{body['email']}", "user": USER})
        elif self.path == "/api/sessions":
            self._answer(201, {"session": {"join_code": "K7MP3Q", "state": "waiting"}})
        else:
            self._answer(404, {"error": {"code": "not_found", "message": "no such route"}})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def base_url() -> Iterator[str]:
    Recorder.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_http_signup_then_create_session_with_the_token(base_url: str) -> None:
    api = HttpApi(base_url)
    token = await api.signup("ada@example.org", "Correct horse 7", "Ada")
    assert token == "token-for-ada@example.org"
    assert api.user == USER
    session = await api.create_session("steady-lines")
    assert session["join_code"] == "K7MP3Q"
    assert Recorder.requests == [
        (
            "POST",
            "/api/auth/signup",
            None,
            {"email": "ada@example.org", "password": "Correct horse 7", "display_name": "Ada"},
        ),
        ("POST", "/api/sessions", f"Bearer {token}", {"lesson": "steady-lines"}),
    ]


async def test_http_login_returns_the_token_and_errors_carry_the_code(base_url: str) -> None:
    api = HttpApi(base_url)
    assert await api.login("ada@example.org", "Correct horse 7") == "token-for-ada@example.org"
    with pytest.raises(HttpError) as caught:
        await api.login("ada@example.org", "wrong")
    assert (caught.value.status, caught.value.code) == (401, "invalid_credentials")
    assert api.token == "token-for-ada@example.org"  # a failed login keeps the old token


def test_http_ws_url_sits_beside_the_api() -> None:
    assert HttpApi("http://127.0.0.1:8000/").ws_url == "ws://127.0.0.1:8000/ws"
    assert HttpApi("https://inkroom.example/base").ws_url == "wss://inkroom.example/base/ws"
