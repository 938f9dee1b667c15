"""`inkroom serve`: the server under uvicorn (`server.serving`: uvloop, httptools, our /ws).

Shutdown on SIGTERM or Ctrl-C is uvicorn's: stop accepting, let in-flight requests finish (for
at most GRACEFUL_SHUTDOWN_S), run the app's lifespan shutdown, exit 0. Open WebSockets are cut
at the deadline; the WebSocket layer's own part (tell clients to reconnect elsewhere, flush the
writer) belongs in the app's lifespan shutdown, which uvicorn runs after the deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from types import FrameType
from typing import Final

import uvicorn

from server.cli import command
from server.config import Settings

GRACEFUL_SHUTDOWN_S: Final = 10


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default: INKROOM_HOST, 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, help="port to listen on (default: INKROOM_PORT, 8000; 0: any free)"
    )
    parser.add_argument(
        "--database-url",
        help="postgresql://user@host:5432/db or sqlite:///file.db "
        "(default: INKROOM_DATABASE_URL, else sqlite:///inkroom.db)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="log level (default: info)",
    )


def settings_from_args(args: argparse.Namespace, base: Settings | None = None) -> Settings:
    settings = base or Settings.from_env()
    overrides = {
        "host": args.host,
        "port": args.port,
        "database_url": args.database_url,
    }
    settings = dataclasses.replace(
        settings, **{k: v for k, v in overrides.items() if v is not None}
    )
    if not 0 <= settings.port <= 65535:
        raise ValueError(f"--port: out of range: {settings.port}")
    settings.async_database_url  # noqa: B018 - a bad URL fails here, before uvicorn starts
    return settings


def _stopped(_signum: int, _frame: FrameType | None) -> None:
    pass


class GracefulServer(uvicorn.Server):
    """uvicorn's Server, telling live clients to reconnect elsewhere before it stops."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        hub = getattr(getattr(self.config.app, "state", None), "hub", None)
        if hub is None or hub.closing or self.should_exit:
            super().handle_exit(sig, frame)
            return
        task = asyncio.get_running_loop().create_task(hub.shutdown())
        task.add_done_callback(lambda _done: super(GracefulServer, self).handle_exit(sig, frame))


@command("serve", "run the Inkroom server (HTTP API and live rooms)", _configure)
def _serve(args: argparse.Namespace) -> int:
    from server.app import create_app
    from server.serving import uvicorn_config

    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        print(f"inkroom serve: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        app = create_app(settings)
    except ValueError as exc:  # a secret key too short, say
        print(f"inkroom serve: {exc}", file=sys.stderr)
        return 2
    config = uvicorn_config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = GracefulServer(config)
    # uvicorn shuts down gracefully on SIGTERM / SIGINT, then raises the signal again against
    # the handlers it found, so that the default one kills the process with "-15". A stop we
    # were asked for is a clean exit here: give it handlers that just let `run` return.
    previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    # uvicorn leaves `started` False when start-up failed (the lifespan raised, the port was
    # taken): that is a failed run, not a clean exit
    return 0 if server.started else 1
