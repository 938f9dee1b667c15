"""One WebSocket connection's outbound side: a send queue bounded in bytes, flushed by a timer.

The room never waits for a slow client: `send` only queues the frame (the same bytes object
for every recipient of a broadcast) and, if no flush is due yet, schedules one with the event
loop: at once (the next turn of the loop, so every frame this round of messages makes for the
client joins it) when the last write is a send interval old, else when it will be (on a
`FlushClock` the process's connections share: one loop timer for all the flushes due within
the same 2 ms). A flush writes what waits, as one `batch` frame when there are several
(docs/protocol.md), straight to the transport: no task, no await. It writes at most once per
`send_interval_s` (INKROOM_SEND_INTERVAL_MS): under load that is fewer, larger writes, each
write costing the server (and, on loopback, the kernel's receive side too) far more than its
bytes.

What the transport has not yet handed to the kernel counts against the same byte bound as the
queue; while the transport asks to pause writing, frames wait here (and keep batching). A
client whose backlog passes the bound is cut off with the `slow_consumer` close code and may
reconnect and resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from typing import Final, Protocol

from scoring import Device
from server.codec import BATCH_MAX_MESSAGES, BATCH_OVERHEAD_BYTES, encode_batch
from server.protocol_errors import CLOSE_CODES, DEFAULT_LIMITS
from server.rate_limit import TokenBucket

log = logging.getLogger(__name__)

DEFAULT_SEND_QUEUE_BYTES: Final = 1024 * 1024
# A batch frame stays within the frame size a client accepts by default.
BATCH_MAX_BYTES: Final = DEFAULT_LIMITS.max_frame_bytes - BATCH_OVERHEAD_BYTES


class Sink(Protocol):
    """Where a connection's frames go: the WebSocket transport (or a test's fake)."""

    def write_message(self, payload: bytes) -> None:
        """Send one binary message now (the transport buffers what the kernel won't take)."""

    def buffered_bytes(self) -> int:
        """Bytes written but not yet taken by the kernel."""

    def close(self, code: int) -> None:
        """Start the close handshake after what was written; the link drops in bounded time."""

    def abort(self, code: int) -> None:
        """Close now, dropping what was not sent (a client that stopped reading)."""


FLUSH_GRID_S: Final = 0.002


class _Slot:
    """The connections due for a flush at one tick of a `FlushClock`: an ordered set."""

    __slots__ = ("members",)

    def __init__(self) -> None:
        self.members: dict[Connection, None] = {}

    def cancel_for(self, connection: Connection) -> None:
        self.members.pop(connection, None)


class FlushClock:
    """One loop timer for every connection whose flush falls in the same FLUSH_GRID_S tick.

    Under load nearly every flush is a timed one (the last write is less than a send interval
    old), hundreds of them a second; a loop timer each is costly (uvloop makes each one a
    libuv timer). Here a flush due at `when` runs at the first tick at or after it, with the
    others of that tick: one timer a tick, never a flush early, at most FLUSH_GRID_S late."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._slots: dict[int, _Slot] = {}

    def at(self, when: float, connection: Connection) -> _Slot:
        tick = math.ceil(when / FLUSH_GRID_S)
        slot = self._slots.get(tick)
        if slot is None:
            slot = self._slots[tick] = _Slot()
            self._loop.call_at(tick * FLUSH_GRID_S, self._fire, tick)
        slot.members[connection] = None
        return slot

    def _fire(self, tick: int) -> None:
        slot = self._slots.pop(tick)
        for connection in list(slot.members):
            connection._flush()

    @property
    def waiting(self) -> int:
        """Ticks waiting to fire."""
        return len(self._slots)


class Connection:
    def __init__(
        self,
        cid: int,
        sink: Sink,
        user: int,
        device: Device,
        rate: TokenBucket,
        max_queue_bytes: int = DEFAULT_SEND_QUEUE_BYTES,
        send_interval_s: float = 0.0,
        flushes: FlushClock | None = None,
    ) -> None:
        self.cid = cid
        self.sink = sink
        self.user = user
        self.device = device
        self.rate = rate
        self.max_queue_bytes = max_queue_bytes
        self.send_interval_s = send_interval_s
        self._loop = asyncio.get_running_loop()
        self._clock = flushes or FlushClock(self._loop)
        self._last_write = -send_interval_s
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._flush_due: asyncio.Handle | _Slot | None = None
        # The sink's backlog as of our last write. Until the next one it shrinks as the kernel
        # takes it, and grows only by the transport's own few control frames while the
        # transport is not paused (past its high-water mark it pauses us, and then the sink
        # is asked each time), so the bound is checked against it and the sink asked only when
        # that check fails.
        self._sink_backlog = 0
        self._paused = False
        self._close_code: int | None = None
        self._lost: asyncio.Future[None] = self._loop.create_future()
        self.closed = False
        self.sent = 0

    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes

    @property
    def closing(self) -> bool:
        """A close was asked for (or the link is gone): nothing more is sent."""
        return self.closed or self._close_code is not None

    def send(self, frame: bytes) -> bool:
        """Queue a frame; False (and the connection is being closed) if it overflowed."""
        if self.closed or self._close_code is not None:
            return False
        queued = self._queued_bytes + len(frame)
        if (self._paused or queued + self._sink_backlog > self.max_queue_bytes) and (
            queued + self._refresh_backlog() > self.max_queue_bytes
        ):
            log.warning("connection %d: send queue over %d bytes", self.cid, self.max_queue_bytes)
            self.close(CLOSE_CODES["slow_consumer"], drop_pending=True)
            return False
        self._queue.append(frame)
        self._queued_bytes = queued
        if self._flush_due is None and not self._paused:
            self._schedule()
        return True

    def _refresh_backlog(self) -> int:
        self._sink_backlog = backlog = self.sink.buffered_bytes()
        return backlog

    def _schedule(self) -> None:
        due = self._last_write + self.send_interval_s
        if due > self._loop.time():
            self._flush_due = self._clock.at(due, self)
        else:
            self._flush_due = self._loop.call_soon(self._flush)

    def close(self, code: int, *, drop_pending: bool = False) -> None:
        """Close after the frames already queued (or at once, dropping them)."""
        if self._close_code is not None or self.closed:
            return
        self._close_code = code
        if drop_pending:
            self._queue.clear()
            self._queued_bytes = 0
            self._cancel_flush()
            self.sink.abort(code)
            return
        if self._flush_due is None and not self._paused:
            self._flush_due = self._loop.call_soon(self._flush)

    def _cancel_flush(self) -> None:
        due = self._flush_due
        if due is not None:
            if isinstance(due, _Slot):
                due.cancel_for(self)
            else:
                due.cancel()
            self._flush_due = None

    def _next_frame(self) -> tuple[bytes, int]:
        """The next frame to send, and how many messages it carries: the oldest queued frame,
        or, when more are waiting, as many as fit in one `batch` frame (one write, one
        WebSocket frame for the client to read, instead of one each)."""
        queue = self._queue
        if len(queue) <= BATCH_MAX_MESSAGES and self._queued_bytes <= BATCH_MAX_BYTES:
            # all of it in one frame: what a send interval's worth of messages nearly always is
            count = len(queue)
            frames = list(queue)
            queue.clear()
            self._queued_bytes = 0
            return (frames[0] if count == 1 else encode_batch(frames)), count
        first = queue.popleft()
        size = len(first)
        if not queue or size + len(queue[0]) > BATCH_MAX_BYTES:
            self._queued_bytes -= size
            return first, 1
        frames = [first]
        while queue and len(frames) < BATCH_MAX_MESSAGES:
            if size + len(queue[0]) > BATCH_MAX_BYTES:
                break
            frame = queue.popleft()
            size += len(frame)
            frames.append(frame)
        self._queued_bytes -= size
        return encode_batch(frames), len(frames)

    def _flush(self) -> None:
        self._flush_due = None
        if self.closed:
            return
        wrote = False
        while self._queue and not self._paused:
            frame, count = self._next_frame()
            self.sink.write_message(frame)
            self.sent += count
            wrote = True
        if wrote:
            self._last_write = self._loop.time()
            self._refresh_backlog()
        if self._close_code is not None and not self._queue:
            self.sink.close(self._close_code)

    # -- what the transport tells --------------------------------------------------------------

    def pause_writing(self) -> None:
        self._paused = True
        self._cancel_flush()

    def resume_writing(self) -> None:
        self._paused = False
        if self._queue or self._close_code is not None:
            self._cancel_flush()
            self._flush_due = self._loop.call_soon(self._flush)

    def lost(self) -> None:
        """The link is gone: nothing more is sent."""
        self.closed = True
        self._cancel_flush()
        self._queue.clear()
        self._queued_bytes = 0
        if not self._lost.done():
            self._lost.set_result(None)

    async def wait_closed(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._lost), timeout)
