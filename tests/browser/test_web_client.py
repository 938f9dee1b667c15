"""The web client in a real Chromium against a real server: practice, a room, replays, layout.

Strokes are drawn with CDP input events of pointer type "pen" with a pressure (`force`) and
tilt: Chromium turns them into trusted PointerEvents, exactly as a stylus's would be.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from browser_support import (
    PHONE,
    TABLET,
    Browser,
    Tab,
    chromium,
    playwright_driver,
    wait_until,
    web_server,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["chromium", "playwright_driver", "web_server"]  # fixtures, used by name
pytestmark = pytest.mark.browser

LINE = [(100.0, 300.0), (700.0, 300.0)]  # steady-lines, step 1: its target, in canvas units


def pen_stroke(
    tab: Tab,
    path: Sequence[tuple[float, float]],
    *,
    canvas: tuple[int, int] = (800, 600),
    n: int = 30,
    pressure: tuple[float, float] = (0.3, 0.8),
    drop_at: int | None = None,
) -> list[float]:
    """Draw `path` (canvas units) on #board with a pen; the pressures sent, point by point.
    With `drop_at`, the page's socket is dropped (as a network drop would) before that point."""
    box = tab.page.locator("#board").bounding_box()
    assert box is not None
    cdp = tab.page.context.new_cdp_session(tab.page)
    xs = np.interp(np.linspace(0, len(path) - 1, n), range(len(path)), [p[0] for p in path])
    ys = np.interp(np.linspace(0, len(path) - 1, n), range(len(path)), [p[1] for p in path])
    pressures = list(np.linspace(pressure[0], pressure[1], n))
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if i == drop_at:
            tab.page.evaluate("window.inkroom.connection.drop()")
        kind = "mousePressed" if i == 0 else "mouseReleased" if i == n - 1 else "mouseMoved"
        cdp.send(
            "Input.dispatchMouseEvent",
            {
                "type": kind,
                "x": box["x"] + x * box["width"] / canvas[0],
                "y": box["y"] + y * box["height"] / canvas[1],
                "button": "left",
                "buttons": 0 if kind == "mouseReleased" else 1,
                "clickCount": 1,
                "pointerType": "pen",
                "force": pressures[i],
                "tiltX": 20,
                "tiltY": -10,
            },
        )
        tab.page.wait_for_timeout(12)
    cdp.detach()
    return pressures


def sign_up_in_the_ui(tab: Tab, name: str) -> None:
    page = tab.page
    page.goto("/")
    page.get_by_role("link", name="Sign up").first.click()
    page.fill("#f-name", name)
    page.fill("#f-email", f"{name.lower()}-{id(tab)}@example.org")
    page.fill("#f-password", "Correct horse 7")
    page.click("#submit")
    page.wait_for_selector(".lesson-card")


def decoded_points(stroke: dict[str, Any]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(stroke["points"]), "<f4").reshape(-1, 6)


def test_learner_signs_up_draws_a_step_with_a_pen_and_sees_the_score(chromium: Browser) -> None:
    tab = chromium.tab(TABLET)
    page = tab.page
    sign_up_in_the_ui(tab, "Ada")
    tab.shot("catalog")
    assert page.locator('.lesson-card[data-access="free"] .badge.free').count() == 2
    assert page.locator('.lesson-card[data-access="vip"] .badge.vip').count() == 3
    page.locator('.lesson-card[data-slug="hatching"] a').click()
    page.get_by_text("This lesson is for VIP members").wait_for()  # no subscription: locked
    assert page.locator("#start-practice").count() == 0
    page.go_back()
    page.locator('.lesson-card[data-slug="steady-lines"] a').click()
    page.wait_for_selector("#start-practice")
    tab.shot("lesson")
    page.click("#start-practice")
    page.wait_for_selector('#board[data-step="0"]')
    page.wait_for_selector('#board[data-guide="svg"]')  # the step's SVG guide is drawn
    sent = pen_stroke(tab, LINE)
    page.wait_for_selector('#board[data-scored="1"]')
    score = page.locator("#stroke-scores li").first
    assert re.match(r"\d+%", score.locator(".score").inner_text())
    assert float(score.get_attribute("data-total") or 0) > 0.7
    tab.shot("practice-scored")
    tab.shot("practice-scored-top", height=700)  # docs/img/practice.png
    page.click("#finish-step")
    page.wait_for_selector("#step-score")
    assert page.locator("#step-score").get_attribute("data-passed") == "true"
    page.click("#next-step")
    page.wait_for_selector('#board[data-step="1"]')
    for step in range(1, 6):  # the other steps left empty: the lesson ends, not passed
        page.wait_for_selector(f'#board[data-step="{step}"]')
        page.click("#finish-step")
        page.wait_for_selector("#step-score")
        page.click("#next-step")
    result = page.locator("#attempt-result")
    result.wait_for()
    assert "Lesson done" in result.inner_text()
    page.wait_for_function("() => document.getElementById('progress').textContent.includes('best')")
    assert "1 attempt" in page.locator("#progress").inner_text()
    tab.shot("practice-result")

    # the server got the pen's pressure and tilt, point by point
    token = page.evaluate("localStorage.getItem('inkroom.token')")

    def stored() -> Any:
        (attempt,) = chromium.api("/api/me/attempts", token)["attempts"]
        strokes = chromium.api(f"/api/attempts/{attempt['id']}/replay", token)["strokes"]
        return strokes or None

    (stroke,) = wait_until(stored, what="the stroke to be stored")
    rows = decoded_points(stroke)
    assert rows.shape[0] >= 20
    assert rows[:, 3].min() < 0.4 and rows[:, 3].max() > 0.7, rows[:, 3]
    assert np.all(rows[:, 3] >= sent[0] - 0.01) and np.all(rows[:, 3] <= sent[-1] + 0.01)
    assert np.allclose(rows[:, 4], 20) and np.allclose(rows[:, 5], -10)
    assert abs(rows[0, 0] - 100) < 3 and abs(rows[-1, 0] - 700) < 3
    assert np.all(np.abs(rows[:, 1] - 300) < 3)
    assert stroke["score"] > 0.7

    # the attempt's replay plays to the end at 4x, with the stroke's score
    page.goto("/#/replays")
    page.locator("#attempts li a").first.click()
    play_to_the_end(tab, strokes=1)
    tab.shot("replay-attempt")


def signed_in(chromium: Browser, name: str, viewport: dict[str, int] = TABLET) -> Tab:
    token, user = chromium.signup(name)
    return chromium.tab(viewport, token=token, user=user)


def canvas_has_colour(tab: Tab, rgb: tuple[int, int, int]) -> int:
    """How many pixels of the board are (nearly) this colour."""
    count: int = tab.page.evaluate(
        """([r, g, b]) => {
            const c = document.getElementById("board");
            const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < data.length; i += 4) {
                const d = Math.abs(data[i] - r) + Math.abs(data[i + 1] - g)
                    + Math.abs(data[i + 2] - b);
                if (d < 30 && data[i + 3] > 200) n++;
            }
            return n;
        }""",
        list(rgb),
    )
    return count


BLUE = (0x1F, 0x6F, 0xEB)  # the first player's colour (PALETTE[0] in clients/web/js/board.js)
ORANGE = (0xD9, 0x48, 0x0F)  # the second's


def test_two_players_play_one_room_and_see_each_others_strokes_live(chromium: Browser) -> None:
    host, guest = signed_in(chromium, "Hana"), signed_in(chromium, "Gus", PHONE)
    host.page.goto("/#/play?lesson=steady-lines")
    host.page.click("#create-room")
    code = host.page.locator("#room-code").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{6}", code)
    host.shot("room-lobby")
    guest.page.goto("/#/play")
    guest.page.fill("#join-code", code.lower())
    guest.page.click("#join-room")
    guest.page.wait_for_selector("#room-code")
    for tab in (host, guest):
        tab.page.wait_for_selector("#people li:nth-child(2)")
        assert tab.page.locator('#people li[data-presence="here"]').count() == 2
    assert guest.page.locator("#start-room").is_hidden()
    host.page.click("#start-room")
    for tab in (host, guest):
        tab.page.wait_for_selector('#board[data-state="active"]')

    pen_stroke(host, LINE)
    guest.page.wait_for_function(
        "() => document.getElementById('board').dataset.peerStrokes === '1'"
        " && Number(document.getElementById('board').dataset.peerPoints) >= 20"
    )
    # the host's stroke, in the host's colour
    wait_until(lambda: canvas_has_colour(guest, BLUE) > 50, what="blue pixels")
    # the guest's network drops halfway through the stroke: it resumes, and the host gets it all
    pen_stroke(guest, [(100, 310), (400, 305), (700, 300)], pressure=(0.5, 0.6), n=30, drop_at=15)
    host.page.wait_for_function(
        "() => document.getElementById('board').dataset.peerStrokes === '1'"
        " && Number(document.getElementById('board').dataset.peerPoints) >= 29"
    )
    guest.page.wait_for_function("() => window.inkroom.connection.state === 'open'")
    # the guest's, in the guest's
    wait_until(lambda: canvas_has_colour(host, ORANGE) > 50, what="orange pixels")
    # the same colour on the guest's own screen
    wait_until(lambda: canvas_has_colour(guest, ORANGE) > 50, what="orange pixels")
    host.page.wait_for_selector("#stroke-scores li")
    host.shot("room-two-players")
    host.shot("room-two-players-top", height=740)  # docs/img/room.png
    guest.shot("room-two-players-phone")

    for tab in (host, guest):
        tab.page.click("#finish-step")
    for tab in (host, guest):
        shared = tab.page.locator('.shared[data-step="0"]')
        shared.wait_for()
        assert "Hana" in shared.inner_text() and "Gus" in shared.inner_text()

    # the host ends the room: everyone gets the final ranking
    assert guest.page.locator("#end-room").is_hidden()
    host.page.click("#end-room")
    for tab in (host, guest):
        ranking = tab.page.locator("#final-results li")
        ranking.first.wait_for()
        assert ranking.count() == 2
        assert tab.page.locator("#board").get_attribute("data-state") == "finished"
    guest.shot("room-final-phone")

    # the step's replay, from the shared result: both strokes, played to the end at 4x
    host.page.locator('.shared[data-step="0"] a').click()
    play_to_the_end(host, strokes=2)
    host.shot("replay-room-step")


def play_to_the_end(tab: Tab, strokes: int) -> None:
    page = tab.page
    page.wait_for_selector(f'#board[data-total="{strokes}"]')
    page.select_option("#speed", "4")
    page.click("#play")
    page.wait_for_selector('#board[data-state="ended"]', timeout=20_000)
    assert page.locator("#board").get_attribute("data-completed") == str(strokes)
    assert page.locator("#replay-scores li").count() == strokes
    assert all(re.search(r"\d+%", t) for t in page.locator("#replay-scores li").all_inner_texts())


def test_a_network_drop_mid_stroke_resumes_without_losing_the_stroke(chromium: Browser) -> None:
    tab = signed_in(chromium, "Rey")
    page = tab.page
    page.goto("/#/practice/steady-lines")
    page.wait_for_selector('#board[data-step="0"]')
    box = page.locator("#board").bounding_box()
    assert box is not None
    cdp = page.context.new_cdp_session(page)
    n = 40
    for i, x in enumerate(np.linspace(100, 700, n)):
        if i == n // 2:  # the socket goes away with the stroke half drawn
            page.evaluate("window.inkroom.connection.drop()")
            assert page.evaluate("window.inkroom.connection.state") == "reconnecting"
        kind = "mousePressed" if i == 0 else "mouseReleased" if i == n - 1 else "mouseMoved"
        cdp.send(
            "Input.dispatchMouseEvent",
            {
                "type": kind,
                "x": box["x"] + x * box["width"] / 800,
                "y": box["y"] + 300 * box["height"] / 600,
                "button": "left",
                "buttons": 0 if kind == "mouseReleased" else 1,
                "clickCount": 1,
                "pointerType": "pen",
                "force": 0.6,
            },
        )
        page.wait_for_timeout(10)
    cdp.detach()
    page.wait_for_function("() => window.inkroom.connection.state === 'open'")
    page.wait_for_selector('#board[data-scored="1"]')
    assert float(page.locator("#stroke-scores li").first.get_attribute("data-total") or 0) > 0.7
    token = page.evaluate("localStorage.getItem('inkroom.token')")

    def stored() -> Any:
        (attempt,) = chromium.api("/api/me/attempts", token)["attempts"]
        return chromium.api(f"/api/attempts/{attempt['id']}/replay", token)["strokes"] or None

    (stroke,) = wait_until(stored, what="the stroke to be stored")
    rows = decoded_points(stroke)
    assert rows.shape[0] >= n - 2  # every point, those drawn while offline too
    assert abs(rows[0, 0] - 100) < 3 and abs(rows[-1, 0] - 700) < 3
    assert np.all(np.diff(rows[:, 0]) > 0)  # in order, none twice


SCREENS = {
    "catalog": ("/#/", ".lesson-card"),
    "lesson": ("/#/lesson/steady-lines", "#start-practice"),
    "practice": ("/#/practice/steady-lines", '#board[data-step="0"]'),
    "play": ("/#/play", "#create-room"),
    "replays": ("/#/replays", "h2"),
}


@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["phone", "tablet"])
def test_main_screens_fit_phone_and_tablet_without_horizontal_overflow(
    chromium: Browser, viewport: dict[str, int]
) -> None:
    size = f"{viewport['width']}x{viewport['height']}"
    anonymous = chromium.tab(viewport)
    anonymous.page.goto("/#/login")
    anonymous.page.wait_for_selector("#submit")
    screens = [("login", anonymous)]
    tab = signed_in(chromium, "Vi", viewport)
    for name, (path, ready) in SCREENS.items():
        tab.page.goto(path)
        tab.page.wait_for_selector(ready)
        screens.append((name, tab))
        overflow = tab.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} at {size} overflows by {overflow}px"
        tab.shot(f"{name}-{size}")
        if name == "practice":
            width = tab.page.evaluate("document.getElementById('board').clientWidth")
            assert 0 < width <= viewport["width"]
    overflow = anonymous.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    anonymous.shot(f"login-{size}")


def tab_to(tab: Tab, element_id: str, presses: int = 25) -> None:
    """Press Tab until the element with this id has the focus."""
    for _ in range(presses):
        tab.page.keyboard.press("Tab")
        if tab.page.evaluate("document.activeElement?.id") == element_id:
            return
    focused = tab.page.evaluate("document.activeElement?.outerHTML")
    raise AssertionError(f"Tab never reached #{element_id} (last: {focused})")


def test_keyboard_reaches_the_primary_buttons(chromium: Browser) -> None:
    _token, user = chromium.signup("Kim")
    tab = chromium.tab(TABLET)
    page = tab.page
    page.goto("/#/login")
    page.wait_for_selector("#submit")
    page.keyboard.type(user["email"])  # the first field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type("Correct horse 7")
    tab_to(tab, "submit")
    page.keyboard.press("Enter")
    page.wait_for_selector(".lesson-card")
    page.goto("/#/lesson/steady-lines")
    page.wait_for_selector("#start-practice")
    tab_to(tab, "start-practice")
    page.keyboard.press("Enter")
    page.wait_for_selector('#board[data-step="0"]')
    tab_to(tab, "hint")
    page.keyboard.press("Enter")
    page.wait_for_selector("#hint-text:not([hidden])")
    assert "green dot" in page.locator("#hint-text").inner_text()
    tab_to(tab, "finish-step")
    page.keyboard.press("Enter")
    page.wait_for_selector("#step-score")
    page.goto("/#/play")
    page.wait_for_selector("#create-room")
    tab_to(tab, "create-room")
    tab_to(tab, "join-room")


RED = (0xD7, 0x26, 0x3D)  # a stroke's points off the guide (OFF_COLOUR in clients/web/js/board.js)


def test_the_path_turns_red_off_the_guide_while_drawing(chromium: Browser) -> None:
    tab = signed_in(chromium, "Ola")
    page = tab.page
    page.goto("/#/practice/steady-lines")
    page.wait_for_selector('#board[data-step="0"]')
    pen_stroke(tab, [(100, 300), (300, 300), (400, 380), (700, 380)], n=40)
    page.wait_for_selector('#board[data-scored="1"]')
    wait_until(lambda: canvas_has_colour(tab, RED) > 50, what="red pixels")
    # the part on the guide keeps the pen's colour
    wait_until(lambda: canvas_has_colour(tab, BLUE) > 50, what="blue pixels")
    assert page.locator("#live-meter.off").count() == 1
    assert "Off the guide" in page.locator("#live-text").inner_text()
    assert page.locator('#stroke-scores li [data-code="off_path"]').count() == 1
    tab.shot("practice-off-path")
    page.click("#undo")
    page.wait_for_function("() => document.getElementById('board').dataset.strokes === '0'")
    # the board redraws on the next animation frame
    wait_until(lambda: canvas_has_colour(tab, RED) == 0, what="the red stroke to go")
    assert page.locator("#stroke-scores li").count() == 0
