from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from schema import repository as repo

if TYPE_CHECKING:
    from http_harness import Account, Api

pytest_plugins = ["http_harness"]

VIP_LESSON = "hatching"


def test_courses_are_public_and_mark_free_and_vip_lessons(api: Api) -> None:
    response = api.client.get("/api/courses")
    assert response.status_code == 200
    (course,) = response.json()["courses"]
    assert course["slug"] == "first-marks"
    lessons = {lesson["slug"]: lesson for lesson in course["lessons"]}
    assert len(lessons) == 5
    assert lessons["steady-lines"]["access"] == "free" and lessons["steady-lines"]["is_free"]
    assert lessons[VIP_LESSON]["access"] == "vip" and not lessons[VIP_LESSON]["is_free"]
    assert [lesson["position"] for lesson in course["lessons"]] == sorted(
        lesson["position"] for lesson in course["lessons"]
    )
    assert "steps" not in lessons["steady-lines"]  # content is for accounts only


def test_lesson_free_has_steps_and_inline_guides(api: Api) -> None:
    account = api.signup()
    response = api.client.get("/api/lessons/steady-lines", headers=account.headers)
    assert response.status_code == 200
    lesson = response.json()["lesson"]
    assert lesson["steps_count"] == len(lesson["steps"]) > 0
    assert [s["order"] for s in lesson["steps"]] == sorted(s["order"] for s in lesson["steps"])
    step = lesson["steps"][0]
    assert step["targets"] and step["tolerance"] > 0
    (guide,) = step["guides"]
    assert guide["content_type"] == "image/svg+xml" and "<svg" in guide["content"]
    assert guide["uri"].startswith("guides/steady-lines/")


def test_lesson_vip_without_subscription_is_402(api: Api) -> None:
    account = api.signup()
    response = api.client.get(f"/api/lessons/{VIP_LESSON}", headers=account.headers)
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "subscription_required"
    assert "steps" not in response.text


@pytest.mark.parametrize("status", ["active", "trialing"])
def test_lesson_vip_with_a_live_subscription_is_served(api: Api, status: str) -> None:
    account = api.signup()
    api.subscribe(account, status)
    response = api.client.get(f"/api/lessons/{VIP_LESSON}", headers=account.headers)
    assert response.status_code == 200
    assert response.json()["lesson"]["access"] == "vip"
    assert api.client.get("/api/me", headers=account.headers).json()["user"]["subscribed"]


@pytest.mark.parametrize("status", ["past_due", "canceled"])
def test_lesson_vip_with_a_lapsed_subscription_is_402(api: Api, status: str) -> None:
    account = api.signup()
    api.subscribe(account, status)
    response = api.client.get(f"/api/lessons/{VIP_LESSON}", headers=account.headers)
    assert response.status_code == 402


def test_lesson_vip_with_an_active_subscription_past_its_period_is_402(api: Api) -> None:
    account = api.signup()
    api.subscribe(account, "active", period_end=datetime.now(UTC) - timedelta(days=1))
    response = api.client.get(f"/api/lessons/{VIP_LESSON}", headers=account.headers)
    assert response.status_code == 402


def test_lesson_vip_someone_elses_subscription_does_not_count(api: Api) -> None:
    subscriber, other = api.signup("sub"), api.signup("other")
    api.subscribe(subscriber)
    assert api.client.get(f"/api/lessons/{VIP_LESSON}", headers=subscriber.headers).is_success
    response = api.client.get(f"/api/lessons/{VIP_LESSON}", headers=other.headers)
    assert response.status_code == 402


@pytest.mark.parametrize("role", ["coach", "admin"])
def test_lesson_vip_is_open_to_staff(api: Api, role: str) -> None:
    account = api.signup(role)
    _set_role(api, account, role)
    response = api.client.get(f"/api/lessons/{VIP_LESSON}", headers=account.headers)
    assert response.status_code == 200


def _set_role(api: Api, account: Account, role: str) -> None:
    async def work(db: AsyncSession) -> None:
        user = await repo.get_user(db, account.user_id)
        assert user is not None
        user.role = role

    api.db(work)


def test_lesson_unknown_slug_is_404(api: Api) -> None:
    account = api.signup()
    response = api.client.get("/api/lessons/no-such-lesson", headers=account.headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
