"""The Starlette application: routes, JSON errors, and a lifespan that owns the database.

Start-up: make the engine, bring the schema to head, seed the built-in catalog if the database
has no course yet (first start; later catalog changes go through `inkroom seed`), then serve.
On Postgres, start-up holds an advisory lock so several processes starting together migrate
and seed once. Shutdown: dispose of the engine.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import mimetypes
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, Final

from argon2 import PasswordHasher
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from lessons import load_catalog
from schema import migrate
from schema.database import make_engine, make_sessionmaker
from schema.models import Course
from schema.seed import seed_catalog
from scoring import warm_up
from server import http_attempts, http_auth, http_catalog, http_coaches, http_ops, http_sessions
from server.auth import Passwords, TokenSigner, secret_key_bytes
from server.config import Settings
from server.http_api import Services, error_response
from server.hub import Hub
from server.metrics import ServerMetrics
from server.writer import Writer

log = logging.getLogger(__name__)

# any constant will do: it names "Inkroom start-up" among the database's advisory locks
_STARTUP_LOCK_ID: Final = 0x1A7C_2000_0004


async def prepare_database(engine: AsyncEngine) -> bool:
    """Migrate to head and seed on first start; True if the catalog was seeded now."""
    async with AsyncExitStack() as stack:
        if engine.dialect.name == "postgresql":
            lock = await stack.enter_async_context(engine.connect())
            await lock.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _STARTUP_LOCK_ID})
            await lock.commit()
            stack.push_async_callback(
                lock.execute, text("SELECT pg_advisory_unlock(:id)"), {"id": _STARTUP_LOCK_ID}
            )
        await migrate.upgrade(engine)
        seeded = await _seed_if_empty(engine)
    return seeded


async def _seed_if_empty(engine: AsyncEngine) -> bool:
    async with make_sessionmaker(engine).begin() as db:
        if await db.scalar(select(func.count()).select_from(Course)):
            return False
        report = await seed_catalog(db, load_catalog())
    log.info("first start: seeded the built-in catalog (%d rows)", report.created)
    return True


def _json_http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    return error_response(
        exc.status_code,
        codes.get(exc.status_code, "http_error"),
        str(exc.detail),
        headers=exc.headers,
    )


def _json_server_error(_request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "something went wrong on our side")


WRITER_DRAIN_S: Final = 30.0
GC_YOUNG_THRESHOLD: Final = 10_000  # allocations between young collections (Python: 700)


async def _tick(hub: Hub) -> None:
    """Once a second: step timers and resume windows."""
    while True:
        await asyncio.sleep(1.0)
        try:
            await hub.tick()
        except Exception:
            log.exception("hub tick failed")


# The web client (clients/web): plain ES modules, served as they are. Beside the package in a
# checkout or an editable install; elsewhere INKROOM_WEB_ROOT names the folder.
DEFAULT_WEB_ROOT: Final = Path(__file__).resolve().parent.parent / "clients" / "web"
_WEB_HEADERS: Final = {
    # no build step means no content hashes in file names: revalidate (ETag) on every load
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; "
        "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
}
# modules must be served as JavaScript, whatever the machine's mime.types says
for _suffix, _type in {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
                       ".svg": "image/svg+xml", ".json": "application/json"}.items():  # fmt: skip
    mimetypes.add_type(_type, _suffix)


class WebClientFiles(StaticFiles):
    """Static files with the web client's headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(_WEB_HEADERS)
        return response


def web_client_routes(web_root: Path) -> list[BaseRoute]:
    """`/` is the client's index.html; each of its folders (but test/) is a mount of its own,
    so the API's paths never fall through to the static files (a wrong method stays a 405)."""
    index = web_root / "index.html"

    async def serve_index(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise HTTPException(405)
        return FileResponse(index, media_type="text/html", headers=_WEB_HEADERS)

    found: list[BaseRoute] = [Route("/", serve_index, methods=["GET", "HEAD"], name="web_index")]
    for folder in sorted(web_root.iterdir()):
        if folder.is_dir() and folder.name not in ("test", "node_modules"):
            files = WebClientFiles(directory=folder)
            found.append(Mount(f"/{folder.name}", files, name=f"web_{folder.name}"))
    return found


def _settle_garbage_collector() -> None:
    """Move what start-up made (numba, SQLAlchemy, the catalog: some 200,000 objects) out of
    the collector's sight, so a full collection while serving only walks live data instead of
    stalling the loop for tens of milliseconds; and collect the young generation less often
    (the hot path makes many short-lived objects)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def routes(web_root: Path | None = DEFAULT_WEB_ROOT) -> list[BaseRoute]:
    # `/ws` is not among them: uvicorn hands WebSocket upgrades straight to
    # `server.ws_transport` (see `server.serving.uvicorn_config`), no ASGI in between.
    found: list[BaseRoute] = [
        *http_auth.ROUTES,
        *http_catalog.ROUTES,
        *http_sessions.ROUTES,
        *http_attempts.ROUTES,
        *http_coaches.ROUTES,
        *http_ops.ROUTES,
    ]
    if web_root is not None and (web_root / "index.html").is_file():
        found.extend(web_client_routes(web_root))
    elif web_root is not None:
        log.warning("no web client at %s: / serves nothing (set INKROOM_WEB_ROOT)", web_root)
    return found


def create_app(
    settings: Settings,
    *,
    engine_options: Mapping[str, Any] | None = None,
    password_hasher: PasswordHasher | None = None,
) -> Starlette:
    """The app; `engine_options` go to SQLAlchemy's engine (tests use them to pick a schema),
    `password_hasher` replaces argon2's defaults (tests use cheap parameters)."""
    tokens = TokenSigner(secret_key_bytes(settings.secret_key))  # a bad key fails here, early
    passwords = Passwords(password_hasher)
    metrics = ServerMetrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url, **dict(engine_options or {}))
        try:
            await prepare_database(engine)
            services = app.state.services = Services(
                settings=settings,
                engine=engine,
                sessions=make_sessionmaker(engine),
                tokens=tokens,
                passwords=passwords,
                metrics=metrics,
            )
            # Compile (or load from numba's cache) every scoring kernel now, not on a
            # learner's first stroke.
            await asyncio.to_thread(warm_up)
            _settle_garbage_collector()
            writer = Writer(services.sessions, on_depth=metrics.write_queue_depth.set)
            writer.start()
            hub = app.state.hub = Hub(services, writer, load_catalog())
            ticker = asyncio.create_task(_tick(hub), name="hub-tick")
            try:
                yield
            finally:
                # Clients first (go elsewhere and resume), then every accepted write.
                ticker.cancel()
                await hub.shutdown()
                left = await writer.close(timeout=WRITER_DRAIN_S)
                if left:
                    log.error("shutdown: %d accepted writes could not be stored", left)
        finally:
            app.state.services = None
            await engine.dispose()

    web_root = Path(settings.web_root) if settings.web_root else DEFAULT_WEB_ROOT
    return Starlette(
        routes=routes(web_root),
        lifespan=lifespan,
        exception_handlers={HTTPException: _json_http_error, Exception: _json_server_error},
    )
