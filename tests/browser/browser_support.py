"""Chromium for the browser tests: Debian's own (scripts/test installs it), driven by Playwright.

No browser is ever downloaded: the `chromium` program is found on PATH at run time. Missing
Chromium (or the playwright package) is a skip with the reason, except with CI=true, where it
is a failure. Every page records its console errors and uncaught exceptions; a test's pages must
end with none. Screenshots go to tests/browser/artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# the live-server harness lives beside the server tests (pytest puts that folder on the path
# only when it collects from there)
SERVER_TESTS = str(Path(__file__).resolve().parent.parent / "server")
if SERVER_TESTS not in sys.path:
    sys.path.append(SERVER_TESTS)
LAUNCH_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 1024, "height": 1366}
PASSWORD = "Correct horse 7"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests are required)")
    pytest.skip(reason)


def chromium_path() -> str:
    found = shutil.which("chromium")
    if found is None:
        _unavailable("no `chromium` on PATH: scripts/test installs Debian's package")
    assert found is not None
    return found


@dataclass
class Tab:
    """A page and the errors it logged."""

    page: Any
    errors: list[str] = field(default_factory=list)

    def shot(self, name: str, *, height: int | None = None) -> Path:
        """A screenshot: the whole page, or its top `height` pixels."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        if height is None:
            self.page.screenshot(path=str(path), full_page=True)
        else:
            width = self.page.viewport_size["width"]
            clip = {"x": 0, "y": 0, "width": width, "height": height}
            self.page.screenshot(path=str(path), clip=clip)
        return path


@dataclass
class Browser:
    browser: Any
    base: str
    tabs: list[Tab] = field(default_factory=list)

    def tab(
        self,
        viewport: dict[str, int] = TABLET,
        *,
        token: str | None = None,
        user: dict[str, Any] | None = None,
        pointer: str = "pen",
    ) -> Tab:
        """A page in a context of its own (its own storage: another person)."""
        context = self.browser.new_context(viewport=viewport, base_url=self.base)
        context.set_default_timeout(15_000)
        script = f"localStorage.setItem('inkroom.pointer', {pointer!r});"
        if token is not None:
            script += f"localStorage.setItem('inkroom.token', {token!r});"
            script += f"localStorage.setItem('inkroom.user', {_json(user or {})!r});"
        context.add_init_script(script)
        page = context.new_page()
        tab = Tab(page)

        def on_console(message: Any) -> None:
            if message.type == "error":
                tab.errors.append(f"console: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: tab.errors.append(f"pageerror: {error}"))
        self.tabs.append(tab)
        return tab

    def signup(self, name: str) -> tuple[str, dict[str, Any]]:
        email = f"{name.lower()}-{uuid.uuid4().hex[:10]}@example.org"
        body = {"email": email, "password": PASSWORD, "display_name": name}
        response = httpx.post(f"{self.base}/api/auth/signup", json=body, timeout=10)
        assert response.status_code == 201, response.text
        answer = response.json()
        return answer["token"], answer["user"]

    def api(self, path: str, token: str) -> Any:
        response = httpx.get(
            f"{self.base}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()

    def close(self) -> list[str]:
        errors = [e for tab in self.tabs for e in tab.errors]
        for tab in self.tabs:
            tab.page.context.close()
        self.tabs.clear()
        return errors


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


# Module scope, not session: Playwright's sync API runs an event loop on this thread while it is
# up, and the async tests collected after these would find it running.
@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    executable = chromium_path()
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from ws_harness import serving

    with serving("sqlite", tmp_path_factory.mktemp("browser")) as server:
        yield server.base


@pytest.fixture
def chromium(playwright_driver: Any, web_server: str) -> Iterator[Browser]:
    browser = Browser(playwright_driver, web_server)
    yield browser
    errors = browser.close()
    assert errors == [], "the pages logged errors:\n" + "\n".join(errors)


def wait_until(check: Any, timeout: float = 10.0, what: str = "a condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
