"""The Python client for Inkroom's WebSocket protocol (docs/protocol.md) and a few HTTP calls.

The messages are `server.protocol`'s, never redefined here: import them from there.
"""

from __future__ import annotations

from inkroom_client.connection import DEFAULT_DEVICE, InkroomClient
from inkroom_client.errors import (
    ConnectionLostError,
    InkroomClientError,
    ServerError,
    ServerFrameError,
)
from inkroom_client.http import HttpApi, HttpError
from inkroom_client.session import ClientSession, Latency, percentile
from server.protocol import DeviceInfo

__all__ = [
    "DEFAULT_DEVICE",
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
    "percentile",
]
