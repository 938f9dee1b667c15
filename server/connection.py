"""One WebSocket connection's outbound side: a send queue bounded in bytes, drained by a task.

The room never waits for a slow client: `send` only queues the frame (the same bytes object
for every recipient of a broadcast). When several frames are waiting by the time the drain task
runs, it sends them as one `batch` frame (docs/protocol.md). It writes at most once per
`send_interval_s` (INKROOM_SEND_INTERVAL_MS): under load that is fewer, larger writes, each
write costing the server (and, on loopback, the kernel's receive side too) far more than
its bytes; an idle client's frame still goes out alone and at once. A client whose queue passes
its byte bound is cut off with the `slow_consumer` close code and may reconnect and resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Final

from starlette.websockets import WebSocket, WebSocketDisconnect

from scoring import Device
from server.codec import BATCH_MAX_MESSAGES, BATCH_OVERHEAD_BYTES, encode_batch
from server.protocol_errors import CLOSE_CODES, DEFAULT_LIMITS
from server.rate_limit import TokenBucket

log = logging.getLogger(__name__)

DEFAULT_SEND_QUEUE_BYTES: Final = 1024 * 1024
CLOSE_GOING_AWAY: Final = 1001
CLOSE_TIMEOUT_S: Final = 2.0
# A batch frame stays within the frame size a client accepts by default.
BATCH_MAX_BYTES: Final = DEFAULT_LIMITS.max_frame_bytes - BATCH_OVERHEAD_BYTES


class Connection:
    def __init__(
        self,
        cid: int,
        websocket: WebSocket,
        user: int,
        device: Device,
        rate: TokenBucket,
        max_queue_bytes: int = DEFAULT_SEND_QUEUE_BYTES,
        send_interval_s: float = 0.0,
    ) -> None:
        self.cid = cid
        self.websocket = websocket
        self.user = user
        self.device = device
        self.rate = rate
        self.max_queue_bytes = max_queue_bytes
        self.send_interval_s = send_interval_s
        self._last_write = -send_interval_s
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._wake = asyncio.Event()
        self._close_code: int | None = None
        self.closed = False
        self.sent = 0
        self._sending = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._drain(), name=f"ws-send-{self.cid}")

    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes

    def send(self, frame: bytes) -> bool:
        """Queue a frame; False (and the connection is being closed) if it overflowed."""
        if self.closed or self._close_code is not None:
            return False
        if self._queued_bytes + len(frame) > self.max_queue_bytes:
            log.warning("connection %d: send queue over %d bytes", self.cid, self.max_queue_bytes)
            self.close(CLOSE_CODES["slow_consumer"], drop_pending=True)
            return False
        self._queue.append(frame)
        self._queued_bytes += len(frame)
        self._wake.set()
        return True

    def close(self, code: int, *, drop_pending: bool = False) -> None:
        """Close after the frames already queued (or at once, dropping them)."""
        if self._close_code is not None:
            return
        self._close_code = code
        if drop_pending:
            self._queue.clear()
            self._queued_bytes = 0
            if self._sending and self._task is not None:
                # The drain is stuck in a send the client is not reading: give up on it
                # and close from a fresh task, bounded in time.
                self._task.cancel()
                asyncio.get_running_loop().create_task(self._abort(code))
                return
        self._wake.set()

    async def _abort(self, code: int) -> None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError, TimeoutError):
            await asyncio.wait_for(self.websocket.close(code), CLOSE_TIMEOUT_S)
        self.closed = True

    def _next_frame(self) -> tuple[bytes, int]:
        """The next frame to send, and how many messages it carries: the oldest queued frame,
        or, when more are waiting, as many as fit in one `batch` frame (one write, one
        WebSocket frame for the client to read, instead of one each)."""
        queue = self._queue
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

    async def _drain(self) -> None:
        """Write what is queued; then, while the client stays busy, look again once every
        `send_interval_s` (one timer per write); when its queue runs dry, sleep until `send`
        wakes it, and write at once unless the last write was under an interval ago."""
        loop = asyncio.get_running_loop()
        interval = self.send_interval_s
        try:
            while True:
                if not self._queue:
                    if self._close_code is not None:
                        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
                            await self.websocket.close(self._close_code)
                        return
                    self._wake.clear()
                    await self._wake.wait()
                    # at least one more turn of the loop: the other frames this round of
                    # messages makes for this client join the same write
                    await asyncio.sleep(max(0.0, self._last_write + interval - loop.time()))
                    continue
                while self._queue:
                    frame, count = self._next_frame()
                    self._sending = True
                    await self.websocket.send_bytes(frame)
                    self._sending = False
                    self.sent += count
                self._last_write = loop.time()
                if interval > 0.0:
                    await asyncio.sleep(interval)
        except (WebSocketDisconnect, RuntimeError, OSError, asyncio.CancelledError):
            pass  # the peer went away (or stopped reading); the receive loop cleans up
        finally:
            self.closed = True

    async def wait_closed(self, timeout: float) -> None:
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), timeout)

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self.closed = True
