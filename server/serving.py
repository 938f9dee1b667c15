"""The one uvicorn configuration `inkroom serve` and the live tests run the app under.

HTTP goes through uvicorn to the Starlette app as usual (uvloop and httptools where installed);
WebSocket upgrades go to `server.ws_transport.WebSocketProtocol`, bound to this app.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any

import uvicorn
from starlette.applications import Starlette

from server.ws_transport import WebSocketProtocol


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def uvicorn_config(app: Starlette, *, host: str, port: int, **options: Any) -> uvicorn.Config:
    """uvicorn's Config for `app`; `options` go to uvicorn as they are (log level, ...)."""
    ws: Any = functools.partial(WebSocketProtocol, app=app)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop" if _installed("uvloop") else "asyncio",
        http="httptools" if _installed("httptools") else "h11",
        ws=ws,
        lifespan="on",
        server_header=False,
        **options,
    )
