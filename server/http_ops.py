"""Operations endpoints: health, Prometheus metrics, the OpenAPI schema."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.http_api import api_route, error_response, services
from server.metrics import CONTENT_TYPE
from server.openapi import openapi_schema

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S: Final = 3.0


async def healthz(request: Request) -> Response:
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_S), services(request).engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("health check: the database is unreachable: %r", exc)
        return error_response(503, "database_unavailable", "the database is unreachable")
    return JSONResponse({"status": "ok", "database": "ok"})


async def metrics(request: Request) -> Response:
    return Response(services(request).metrics.expose(), media_type=CONTENT_TYPE)


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_schema())


ROUTES: Final[list[Route]] = [
    api_route("/healthz", healthz),
    api_route("/metrics", metrics),
    api_route("/openapi.json", openapi),
]
