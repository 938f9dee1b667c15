"""The load test's baseline: a bare relay on the server's own stack, without scoring or storage.

Starlette + uvicorn (the issue's baseline stack) with the same loop and HTTP settings as
`inkroom serve`, uvicorn's own WebSocket implementation without per-message deflate (`inkroom
serve` hands `/ws` to `server/ws_transport.py` instead), and the project's codec
(`server.codec`), strict decoding included. It understands just enough of the
protocol for the load bots: `hello` (any token; users are numbered per connection),
`create_room` / `join_room` by code, `start_room` (answered with `room_started` and
`step_started` like the real server, so the bots run unchanged), `stroke_begin` (to number
strokes) and `points`, relayed byte for byte to the other members as `peer_points`. Everything
else is read and dropped: no acks, no feedback, no persistence.

    python3 benchmarks/load/relay_app.py --port 8001
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import itertools
import secrets
import string
from dataclasses import dataclass, field
from typing import Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.codec import decode, encode
from server.protocol import (
    CreateRoom,
    Hello,
    JoinRoom,
    PeerPoints,
    Points,
    RoomJoined,
    RoomStarted,
    StartRoom,
    StepStarted,
    StrokeBegin,
    Welcome,
)
from server.protocol_errors import ProtocolError


@dataclass
class Member:
    user: int
    websocket: WebSocket
    stroke: int = -1


@dataclass
class RelayRoom:
    room: int
    code: str
    lesson: str
    members: list[Member] = field(default_factory=list)
    rseq: int = 0

    def next_rseq(self) -> int:
        self.rseq += 1
        return self.rseq


class Relay:
    def __init__(self) -> None:
        self.rooms: dict[str, RelayRoom] = {}
        self.users = itertools.count(1)
        self.room_ids = itertools.count(1)

    def new_room(self, lesson: str) -> RelayRoom:
        code = "".join(secrets.choice(string.ascii_uppercase) for _ in range(6))
        room = RelayRoom(next(self.room_ids), code, lesson)
        self.rooms[code] = room
        return room

    async def broadcast(self, room: RelayRoom, frame: bytes, exclude: Member | None) -> None:
        for member in room.members:
            if member is not exclude:
                with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
                    await member.websocket.send_bytes(frame)

    async def serve(self, websocket: WebSocket) -> None:
        await websocket.accept()
        me: Member | None = None
        room: RelayRoom | None = None
        try:
            while True:
                try:
                    message = decode(await websocket.receive_bytes())
                except ProtocolError:
                    continue
                if isinstance(message, Points) and me is not None and room is not None:
                    peer = PeerPoints(room.next_rseq(), me.user, me.stroke, message.bin)
                    await self.broadcast(room, encode(peer), exclude=me)
                elif isinstance(message, StrokeBegin) and me is not None:
                    me.stroke += 1
                elif isinstance(message, Hello):
                    me = Member(next(self.users), websocket)
                    await websocket.send_bytes(encode(Welcome(me.user, "bot", "-", {})))
                elif isinstance(message, CreateRoom | JoinRoom) and me is not None:
                    role: Literal["host", "guest"]
                    if isinstance(message, CreateRoom):
                        room, role = self.new_room(message.lesson), "host"
                    else:
                        room, role = self.rooms[message.code], "guest"
                    room.members.append(me)
                    joined = RoomJoined(
                        room.next_rseq(), room.room, room.code, room.lesson, role, "waiting", 1, 0
                    )
                    await websocket.send_bytes(encode(joined))
                elif isinstance(message, StartRoom) and room is not None:
                    await self.broadcast(room, encode(RoomStarted(room.next_rseq(), 1)), None)
                    await self.broadcast(
                        room, encode(StepStarted(room.next_rseq(), 0, False, None)), None
                    )
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            if room is not None and me in room.members:
                room.members.remove(me)
                if not room.members:
                    self.rooms.pop(room.code, None)


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_relay() -> Starlette:
    relay = Relay()
    return Starlette(
        routes=[Route("/healthz", healthz), WebSocketRoute("/ws", relay.serve)],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    def installed(module: str) -> bool:
        return importlib.util.find_spec(module) is not None

    # the loop and HTTP settings `inkroom serve` gives uvicorn (server/serving.py), with
    # uvicorn's own WebSocket layer: the Starlette + uvicorn baseline the issue names
    uvicorn.run(
        create_relay(),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop" if installed("uvloop") else "asyncio",
        http="httptools" if installed("httptools") else "h11",
        lifespan="on",
        log_level="warning",
        server_header=False,
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()
