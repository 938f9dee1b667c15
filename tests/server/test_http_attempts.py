from __future__ import annotations

import base64
import uuid
from typing import TYPE_CHECKING

import numpy as np

from replay.points_codec import Points

if TYPE_CHECKING:
    from http_harness import Api

pytest_plugins = ["http_harness"]


def _decode(text: str, n: int) -> Points:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").reshape(n, 6)


def test_attempts_lists_only_the_callers_own_newest_first(api: Api) -> None:
    ada, bob = api.signup("ada"), api.signup("bob")
    first = api.attempt(ada, score=0.5)
    second = api.attempt(ada)
    api.attempt(bob, score=0.9)
    response = api.client.get("/api/me/attempts", headers=ada.headers)
    assert response.status_code == 200
    attempts = response.json()["attempts"]
    assert [a["id"] for a in attempts] == [str(second), str(first)]
    assert attempts[1]["status"] == "finished" and attempts[1]["score"] == 0.5


def test_attempts_limit_and_lesson_filter(api: Api) -> None:
    ada = api.signup("ada")
    api.attempt(ada, "steady-lines")
    api.attempt(ada, "curves-and-waves")
    response = api.client.get("/api/me/attempts?limit=1", headers=ada.headers)
    assert len(response.json()["attempts"]) == 1
    lesson_id = api.client.get("/api/me/attempts", headers=ada.headers).json()["attempts"][0][
        "lesson_id"
    ]
    response = api.client.get(f"/api/me/attempts?lesson_id={lesson_id}", headers=ada.headers)
    assert [a["lesson_id"] for a in response.json()["attempts"]] == [lesson_id]


def test_attempts_bad_parameters_are_400(api: Api) -> None:
    ada = api.signup("ada")
    for query in ("limit=0", "limit=101", "limit=x", "lesson_id=nope"):
        response = api.client.get(f"/api/me/attempts?{query}", headers=ada.headers)
        assert response.status_code == 400, query
        assert response.json()["error"]["code"] == "invalid_parameter"


def test_progress_is_the_callers_own(api: Api) -> None:
    ada, bob = api.signup("ada"), api.signup("bob")
    api.attempt(ada, score=0.4)
    api.attempt(ada, score=0.7)
    api.attempt(bob, "curves-and-waves", score=0.9)
    response = api.client.get("/api/me/progress", headers=ada.headers)
    assert response.status_code == 200
    (entry,) = response.json()["progress"]
    assert entry["lesson_slug"] == "steady-lines"
    assert (entry["best_score"], entry["last_score"], entry["attempts_count"]) == (0.7, 0.7, 2)
    assert api.client.get("/api/me/progress", headers=api.signup().headers).json() == {
        "progress": []
    }


def test_replay_has_every_stroke_with_points_and_events_in_order(api: Api) -> None:
    ada = api.signup("ada")
    attempt_id = api.attempt(
        ada, strokes=3, score=0.8, events=("start_step", "undo", "retry", "finish_step")
    )
    response = api.client.get(f"/api/attempts/{attempt_id}/replay", headers=ada.headers)
    assert response.status_code == 200
    replay = response.json()
    assert replay["attempt"]["id"] == str(attempt_id) and replay["attempt"]["score"] == 0.8
    assert replay["points_format"]["columns"][:3] == ["x", "y", "t"]
    strokes = replay["strokes"]
    assert [s["seq"] for s in strokes] == [0, 1, 2]
    from http_harness import stroke_points

    for stroke in strokes:
        expected = stroke_points(10 + stroke["seq"], stroke["seq"])
        assert stroke["n_points"] == len(expected)
        np.testing.assert_array_equal(_decode(stroke["points"], stroke["n_points"]), expected)
    assert [e["type"] for e in replay["events"]] == ["start_step", "undo", "retry", "finish_step"]
    assert [e["payload"]["n"] for e in replay["events"]] == [0, 1, 2, 3]


def test_replay_of_someone_elses_attempt_is_404(api: Api) -> None:
    ada, eve = api.signup("ada"), api.signup("eve")
    attempt_id = api.attempt(ada, strokes=1)
    response = api.client.get(f"/api/attempts/{attempt_id}/replay", headers=eve.headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "points" not in response.text


def test_replay_unknown_or_malformed_id_is_404(api: Api) -> None:
    ada = api.signup("ada")
    for attempt_id in (uuid.uuid4(), "1234"):
        response = api.client.get(f"/api/attempts/{attempt_id}/replay", headers=ada.headers)
        assert response.status_code == 404
