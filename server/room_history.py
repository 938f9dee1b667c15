"""Room sequence numbers and the bounded history a reconnecting client resumes from.

Every message a room (or a solo attempt) sends is numbered `rseq` 1, 2, 3, ... in one sequence
per room, encoded once, and kept here, newest last, until the history holds more than
`max_messages` messages or `max_bytes` bytes; then the oldest go. A message addressed to one
user is kept with its addressee, so a resuming client gets the room's broadcasts and its own
messages, never another user's (it sees gaps in rseq where those were). `since` answers None
when the history no longer reaches back to the client's last seen rseq: it then needs a snapshot.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Literal

from server.codec import encode
from server.outputs import ROOM, Send
from server.protocol import Message


class RoomHistory:
    def __init__(self, max_messages: int, max_bytes: int) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.rseq = 0  # the last rseq handed out
        self.floor = 0  # every rseq up to this one has been dropped
        self.bytes = 0
        self._entries: deque[tuple[int, int | None, int | None, bytes]] = deque()

    def next_rseq(self) -> int:
        self.rseq += 1
        return self.rseq

    def send(
        self,
        to: int | Literal["room"],
        build: Callable[[int], Message],
        exclude: int | None = None,
    ) -> Send:
        """Number a message (`build` gets its rseq), encode it once, keep it, and send it."""
        message = build(self.next_rseq())
        frame = encode(message)
        entries = self._entries
        entries.append((self.rseq, None if to == ROOM else to, exclude, frame))
        self.bytes += len(frame)
        if len(entries) > self.max_messages or self.bytes > self.max_bytes:
            while len(entries) > self.max_messages or (
                self.bytes > self.max_bytes and len(entries) > 1
            ):
                dropped = entries.popleft()
                self.floor = dropped[0]
                self.bytes -= len(dropped[3])
        return Send(to, message, frame, exclude)

    def since(self, last_rseq: int, user: int) -> list[bytes] | None:
        """The frames `user` has not seen after `last_rseq`, in order; None if too far back."""
        if last_rseq < self.floor:
            return None
        return [
            frame
            for rseq, to, exclude, frame in self._entries
            if rseq > last_rseq and (to is None or to == user) and exclude != user
        ]

    def __len__(self) -> int:
        return len(self._entries)
