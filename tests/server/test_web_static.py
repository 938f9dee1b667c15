"""`inkroom serve` serves the web client: index at /, modules as JavaScript, sensible headers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.routing import Mount, Route

from server.app import DEFAULT_WEB_ROOT, routes
from server.config import Settings

if TYPE_CHECKING:
    from http_harness import Api

pytest_plugins = ["http_harness"]


def test_web_client_index_is_served_at_the_root(api: Api) -> None:
    response = api.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="js/app.js">' in response.text
    assert response.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_web_client_modules_are_javascript_and_revalidated(api: Api) -> None:
    for path in ("/js/app.js", "/js/protocol.js", "/js/msgpack.js", "/js/views/practice.js"):
        response = api.client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/javascript"), path
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-content-type-options"] == "nosniff"
        etag = response.headers["etag"]
        again = api.client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304
    assert api.client.get("/css/app.css").headers["content-type"].startswith("text/css")


def test_web_client_tests_and_unknown_files_are_not_served(api: Api) -> None:
    for path in (
        "/test/vectors.json",
        "/test/make_vectors.py",
        "/js/nothing.js",
        "/js/../../README.md",
    ):
        assert api.client.get(path).status_code == 404, path
    # the API keeps its own answers: an unknown API path is a JSON 404, a wrong method a 405
    assert api.client.get("/api/nothing").json()["error"]["code"] == "not_found"
    assert api.client.delete("/api/courses").status_code == 405
    assert api.client.post("/").status_code == 405


def test_web_root_comes_from_the_environment(tmp_path: Path) -> None:
    assert Settings.from_env({}).web_root is None
    assert Settings.from_env({"INKROOM_WEB_ROOT": str(tmp_path)}).web_root == str(tmp_path)
    assert (DEFAULT_WEB_ROOT / "index.html").is_file()
    (tmp_path / "index.html").write_text("<!doctype html><title>x</title>")
    (tmp_path / "js").mkdir()
    (tmp_path / "test").mkdir()
    served = routes(tmp_path)
    mounts = {r.path for r in served if isinstance(r, Mount)}
    assert mounts == {"/js"}
    assert any(isinstance(r, Route) and r.path == "/" for r in served)
    # no web client where it should be: only the API
    assert not any(isinstance(r, Mount) for r in routes(tmp_path / "missing"))
