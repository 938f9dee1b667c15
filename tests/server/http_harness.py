"""Fixtures for the HTTP API tests: the app running on SQLite and on real Postgres.

Loaded by the test modules with `pytest_plugins = ["http_harness"]` (a second conftest.py
would clash with tests/schema/conftest.py as the top-level module "conftest" under mypy); they
import its names only for type checking (importing it first would keep pytest from rewriting
its asserts) and reach everything else through the `api` fixture.

The app is started once per backend and test session (migrated and seeded by its own
lifespan, as in production); tests keep apart by signing up their own users. Postgres runs in
a schema of its own per test session, dropped at the end; unreachable Postgres is a skip,
except with CI=true, where it is a failure.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import numpy as np
import pytest
from argon2 import PasswordHasher, profiles
from postgres_support import app_database
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import StarletteDeprecationWarning

from replay.points_codec import Points
from schema import repository as repo
from schema.models import Subscription
from server.app import create_app
from server.auth import TokenSigner
from server.config import Settings
from server.http_api import Services

with warnings.catch_warnings():
    # starlette would rather have httpx2; the project's dev extra installs httpx
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

T = TypeVar("T")
SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnop"
PASSWORD = "Correct horse 7"
# argon2's cheapest parameters: the tests sign up hundreds of users
CHEAP_HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)


@dataclass(frozen=True)
class Account:
    user_id: uuid.UUID
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Api:
    """The running app, its TestClient and shortcuts into its database."""

    client: TestClient
    backend: str
    password: str = PASSWORD  # every account signed up here has this password

    @property
    def services(self) -> Services:
        found = self.client.app.state.services  # type: ignore[attr-defined]
        assert isinstance(found, Services)
        return found

    @property
    def signer(self) -> TokenSigner:
        return TokenSigner(SECRET_KEY.encode())

    def db(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in one committed transaction, on the app's own event loop."""

        async def run() -> T:
            async with self.services.sessions.begin() as session:
                return await work(session)

        portal = self.client.portal
        assert portal is not None
        return portal.call(run)

    def signup(self, name: str = "ada") -> Account:
        email = f"{name}-{uuid.uuid4().hex[:10]}@example.org"
        response = self.client.post(
            "/api/auth/signup",
            json={"email": email, "password": PASSWORD, "display_name": name.title()},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return Account(uuid.UUID(body["user"]["id"]), email, body["token"])

    def subscribe(
        self, account: Account, status: str = "active", *, period_end: datetime | None = None
    ) -> None:
        now = datetime.now(UTC)

        async def work(session: AsyncSession) -> None:
            session.add(
                Subscription(
                    user_id=account.user_id,
                    plan="vip-monthly",
                    status=status,
                    period_start=now - timedelta(days=40),
                    period_end=period_end or now + timedelta(days=30),
                    platform="web",
                )
            )

        self.db(work)

    def attempt(
        self,
        account: Account,
        lesson_slug: str = "steady-lines",
        *,
        strokes: int = 0,
        score: float | None = None,
        events: tuple[str, ...] = (),
    ) -> uuid.UUID:
        """An attempt with `strokes` strokes on the lesson's first step, finished if scored."""

        async def work(session: AsyncSession) -> uuid.UUID:
            lesson = await repo.lesson_with_steps(session, lesson_slug)
            assert lesson is not None
            made = await repo.create_attempt(
                session, user_id=account.user_id, lesson_id=lesson.id, scorer_version="test"
            )
            step = lesson.steps[0]
            await repo.append_strokes(
                session,
                [
                    repo.NewStroke(made.id, step.id, seq, stroke_points(10 + seq, seq))
                    for seq in range(strokes)
                ],
            )
            await repo.append_events(
                session,
                [
                    repo.NewEvent(
                        kind,
                        user_id=account.user_id,
                        attempt_id=made.id,
                        step_id=step.id,
                        payload={"n": i},
                        ts=datetime.now(UTC) + timedelta(milliseconds=i),
                    )
                    for i, kind in enumerate(events)
                ],
            )
            if score is not None:
                await repo.finish_attempt(
                    session,
                    made.id,
                    user_id=account.user_id,
                    score=score,
                    score_accuracy=score,
                    score_quality=score,
                )
            return made.id

        return self.db(work)


def stroke_points(n: int, seed: int = 0) -> Points:
    rng = np.random.default_rng(seed)
    points = rng.uniform(0, 500, size=(n, 6)).astype(np.float32)
    points[:, 2] = np.arange(n, dtype=np.float32) * 4
    return points


BACKENDS = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    backend: str = request.param
    with app_database(backend, tmp_path_factory.mktemp("api"), "inkroom_api") as (url, options):
        settings = Settings(database_url=url, secret_key=SECRET_KEY)
        app = create_app(settings, engine_options=options, password_hasher=CHEAP_HASHER)
        with TestClient(app) as client:
            yield Api(client, backend)
