"""The Python client for Inkroom's WebSocket protocol (docs/protocol.md) and a few HTTP calls.

The messages are `server.protocol`'s, never redefined here: import them from there.
"""

from __future__ import annotations

from inkroom_client.bot import BotConfig, run_bots
from inkroom_client.bot_stats import BotStats
from inkroom_client.connection import DEFAULT_DEVICE, InkroomClient
from inkroom_client.errors import (
    ConnectionLostError,
    InkroomClientError,
    ServerError,
    ServerFrameError,
)
from inkroom_client.http import HttpApi, HttpError
from inkroom_client.session import ClientSession, Latency, percentile
from inkroom_client.strokes import StrokeBank, StrokeMaker
from server.protocol import DeviceInfo

__all__ = [
    "DEFAULT_DEVICE",
    "BotConfig",
    "BotStats",
    "ClientSession",
    "ConnectionLostError",
    "DeviceInfo",
    "HttpApi",
    "HttpError",
    "InkroomClient",
    "InkroomClientError",
    "Latency",
    "ServerError",
    "ServerFrameError",
    "StrokeBank",
    "StrokeMaker",
    "percentile",
    "run_bots",
]
