"""The WebSocket protocol's error codes, its limits, and the one exception the core raises.

Every rejection the server sends is `{"type": "error", "code": ..., "message": ...}` with a
code from `ERROR_CODES`. `close` says whether the I/O layer must close the socket after sending
it (with `CLOSE_CODES[code]`): a frame that cannot be parsed, a failed login or a client too slow
to keep up ends the connection; a message that is merely not allowed now does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# code -> (closes the connection?, what it means). docs/protocol.md has the same table.
ERROR_CODES: Final[dict[str, tuple[bool, str]]] = {
    "bad_frame": (True, "the frame is not one msgpack map (or is text, or has trailing bytes)"),
    "too_large": (True, "the frame, a string, a list or a map is over its limit"),
    "bad_message": (False, "a field is missing, unknown, or of the wrong type"),
    "unknown_type": (False, "the message type does not exist (or is sent by the server only)"),
    "non_finite": (False, "a number is NaN or infinite"),
    "bad_points": (False, "a point batch is not whole rows of 6 little-endian float32"),
    "too_many_points": (False, "over the points allowed in one batch or one stroke"),
    "too_many_strokes": (False, "over the strokes allowed in one step"),
    "bad_seq": (False, "a client seq skips ahead of the next expected one"),
    "hello_first": (True, "the first message must be hello"),
    "auth_failed": (True, "the token in hello or resume is invalid or expired"),
    "not_in_room": (False, "the message needs a room (or attempt) the client is not in"),
    "not_allowed": (False, "the client's role may not do this (a spectator drawing, ...)"),
    "bad_state": (False, "not now: drawing before the start, a second stroke_begin, ..."),
    "no_such_lesson": (False, "the lesson does not exist or the user may not open it"),
    "no_such_room": (False, "no open room has this join code"),
    "room_full": (False, "the room has as many participants as it allows"),
    "too_many_rooms": (False, "the user already has as many open rooms as allowed"),
    "rate_limited": (False, "too many messages per second; the message was dropped"),
    "resume_failed": (False, "the resume token is unknown or older than the resume window"),
    "slow_consumer": (True, "the client's send queue overflowed; reconnect and resume"),
    "internal": (False, "the server failed on this message; the connection stays up"),
}

# WebSocket close codes sent with an error whose `close` is true (4000-4999: application codes).
CLOSE_CODES: Final[dict[str, int]] = {
    "bad_frame": 4400,
    "too_large": 4413,
    "hello_first": 4401,
    "auth_failed": 4403,
    "slow_consumer": 4408,
}
CLOSE_GOING_AWAY: Final = 1001  # with a `going_away` message: server shutting down


class ProtocolError(Exception):
    """A message the core refuses: `code` is one of ERROR_CODES; `close` ends the connection."""

    def __init__(self, code: str, message: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"code: {code!r} is not a protocol error code")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.close = ERROR_CODES[code][0]

    @property
    def close_code(self) -> int | None:
        return CLOSE_CODES.get(self.code) if self.close else None


@dataclass(frozen=True, slots=True)
class Limits:
    """Every bound the protocol enforces. The defaults are what docs/protocol.md promises."""

    max_frame_bytes: int = 64 * 1024
    max_map_len: int = 32
    max_array_len: int = 256
    max_str_len: int = 4096
    max_points_per_batch: int = 1024
    max_points_per_stroke: int = 20_000
    max_strokes_per_step: int = 200
    max_participants: int = 16
    max_messages_per_second: int = 240
    history_messages: int = 4096
    history_bytes: int = 4 * 1024 * 1024
    resume_window_s: float = 60.0


DEFAULT_LIMITS: Final = Limits()
