"""Room fan-out behind one small interface, and the in-process backend.

Theory of operation. A room's messages are encoded once (msgpack bytes) and handed to
`Fanout.publish(room, payload)`. Every `Subscription` to that room on this node gets the same
bytes object in its own queue, bounded by count and by bytes. Publishing never waits for a
subscriber: one that has fallen behind past its bound is cut off on the spot (its queue is
dropped, `overflowed` is set, its `on_overflow` callback runs) and its next `get()` raises
`SlowConsumer`, which the connection turns into a `slow_consumer` close. The room goes on.

Alongside live delivery a backend keeps what a room needs across reconnects and nodes:
- history: messages published with their room sequence number (`rseq`) are kept, a bounded
  number per room, for `history(room, after_rseq)` when a client resumes;
- presence: who is in a room, each entry expiring unless touched again;
- rate limits: fixed-window counters per key (per-connection limits use `rate_limit.TokenBucket`
  in process, with no I/O);
- leaderboards: best score per member.

`InMemoryFanout` does all of it in this process (one node); `fanout_redis.RedisFanout` does it
across nodes through Redis. `make_fanout(settings)` picks one from `INKROOM_REDIS_URL`.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypedDict, Unpack

from server.rate_limit import FixedWindows

if TYPE_CHECKING:
    from server.config import Settings

log = logging.getLogger(__name__)

Clock = Callable[[], float]

DEFAULT_MAX_MESSAGES: Final = 1024
DEFAULT_MAX_BYTES: Final = 4 << 20
DEFAULT_HISTORY_LEN: Final = 20_000  # > 60 s of a busy room (4 players x 60 batches/s)


class SlowConsumer(Exception):  # noqa: N818 - the name is the close reason
    """A subscriber fell too far behind and was cut off; close its connection."""

    reason: Final = "slow_consumer"

    def __init__(self, room: str) -> None:
        super().__init__(f"subscriber to room {room!r} fell behind and was dropped")
        self.room = room


class SubscriptionClosed(Exception):  # noqa: N818 - a state, like StopAsyncIteration
    """The subscription was unsubscribed, or the fan-out closed."""


@dataclass(frozen=True)
class History:
    """Retained messages after some rseq, oldest first.

    `complete` is True when nothing in between is missing: the entries run from
    `after_rseq + 1` to the newest with no gap (or, with no entries, history reaches back to
    `after_rseq` and nothing came after). Otherwise the client needs a snapshot.
    """

    entries: list[tuple[int, bytes]]
    complete: bool


def history_of(retained: list[tuple[int, bytes]], after_rseq: int) -> History:
    """`History` from retained (rseq, payload) pairs in any order."""
    entries = sorted((e for e in retained if e[0] > after_rseq), key=lambda e: e[0])
    if entries:
        complete = all(rseq == after_rseq + 1 + i for i, (rseq, _) in enumerate(entries))
    else:
        complete = any(rseq <= after_rseq for rseq, _ in retained)
    return History(entries, complete)


class Subscription:
    """One subscriber's bounded queue of a room's payloads; iterate it or `await get()`."""

    def __init__(
        self,
        room: str,
        *,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        on_overflow: Callable[[Subscription], None] | None = None,
    ) -> None:
        if max_messages < 1 or max_bytes < 1:
            raise ValueError("a subscription's bounds must be positive")
        self.room = room
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.on_overflow = on_overflow
        self.overflowed = False
        self.closed = False
        self.pending_bytes = 0
        self._queue: deque[bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._queue)

    def offer(self, payload: bytes) -> bool:
        """Queue a payload without ever waiting; False if it was not queued."""
        if self.closed or self.overflowed:
            return False
        size = len(payload)
        # a single message larger than the byte bound still goes through an empty queue
        if self._queue and (
            len(self._queue) >= self.max_messages or self.pending_bytes + size > self.max_bytes
        ):
            self._overflow()
            return False
        self._queue.append(payload)
        self.pending_bytes += size
        self._wake()
        return True

    def _overflow(self) -> None:
        self.overflowed = True
        self._queue.clear()
        self.pending_bytes = 0
        self._wake()
        if self.on_overflow is not None:
            try:
                self.on_overflow(self)
            except Exception:
                log.exception("on_overflow callback failed for room %r", self.room)

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def close(self) -> None:
        self.closed = True
        self._wake()

    def get_nowait(self) -> bytes | None:
        """The next payload if one is queued (None if not); raises as `get` does."""
        if self.overflowed:
            raise SlowConsumer(self.room)
        if self._queue:
            payload = self._queue.popleft()
            self.pending_bytes -= len(payload)
            return payload
        if self.closed:
            raise SubscriptionClosed(self.room)
        return None

    async def get(self) -> bytes:
        while True:
            payload = self.get_nowait()
            if payload is not None:
                return payload
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.get()
        except SubscriptionClosed:
            raise StopAsyncIteration from None


class FanoutOptions(TypedDict, total=False):
    node_id: str | None
    max_messages: int
    max_bytes: int
    history_len: int
    clock: Clock


class Fanout(abc.ABC):
    """The interface both backends share; local delivery to this node's subscribers is here."""

    def __init__(
        self,
        *,
        node_id: str | None = None,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        history_len: int = DEFAULT_HISTORY_LEN,
        clock: Clock = time.time,
    ) -> None:
        self.node_id = node_id or uuid.uuid4().hex
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.history_len = history_len
        self.clock = clock
        self.closed = False
        self.published = 0  # messages published on this node
        self.delivered = 0  # payloads queued to local subscribers
        self.slow_consumers = 0  # subscribers cut off for falling behind
        self._rooms: dict[str, set[Subscription]] = {}

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Connect (a no-op in process); call once before use."""

    async def subscribe(
        self,
        room: str,
        *,
        max_messages: int | None = None,
        max_bytes: int | None = None,
        on_overflow: Callable[[Subscription], None] | None = None,
    ) -> Subscription:
        if self.closed:
            raise SubscriptionClosed(room)
        sub = Subscription(
            room,
            max_messages=max_messages or self.max_messages,
            max_bytes=max_bytes or self.max_bytes,
            on_overflow=on_overflow,
        )
        subs = self._rooms.setdefault(room, set())
        subs.add(sub)
        if len(subs) == 1:
            await self._room_opened(room)
        else:
            await self._room_joined(room)
        return sub

    async def unsubscribe(self, sub: Subscription) -> None:
        """Stop a subscription (idempotent); the last one out of a room leaves it."""
        sub.close()
        subs = self._rooms.get(sub.room)
        if subs is None or sub not in subs:
            return
        subs.discard(sub)
        if not subs:
            del self._rooms[sub.room]
            await self._room_closed(sub.room)

    def local_subscribers(self, room: str) -> int:
        return len(self._rooms.get(room, ()))

    @property
    def rooms(self) -> list[str]:
        return list(self._rooms)

    def _deliver(self, room: str, payload: bytes) -> None:
        subs = self._rooms.get(room)
        if not subs:
            return
        for sub in list(subs):
            # a cut-off subscriber stays listed (refusing everything) until it is unsubscribed
            was_cut_off = sub.overflowed
            if sub.offer(payload):
                self.delivered += 1
            elif sub.overflowed and not was_cut_off:
                self.slow_consumers += 1

    async def _room_opened(self, room: str) -> None:  # noqa: B027 - optional hook
        """The first local subscriber arrived (the Redis backend subscribes its channel)."""

    async def _room_joined(self, room: str) -> None:  # noqa: B027 - optional hook
        """Another local subscriber arrived (the Redis backend waits for its channel)."""

    async def _room_closed(self, room: str) -> None:  # noqa: B027 - optional hook
        """The last local subscriber left."""

    async def close(self) -> None:
        self.closed = True
        for subs in self._rooms.values():
            for sub in subs:
                sub.close()
        self._rooms.clear()

    @abc.abstractmethod
    async def publish(self, room: str, payload: bytes, *, rseq: int | None = None) -> None:
        """Deliver to every subscriber of the room on every node; with `rseq`, keep it in the
        room's history too. Never waits for subscribers."""

    @abc.abstractmethod
    async def history(self, room: str, after_rseq: int) -> History: ...

    @abc.abstractmethod
    async def forget_room(self, room: str) -> None:
        """Drop a finished room's history and presence."""

    @abc.abstractmethod
    async def presence_touch(
        self, room: str, member: str, info: bytes = b"", *, ttl: float = 30.0
    ) -> None:
        """Mark a member present (with a small opaque `info`) for the next `ttl` seconds."""

    @abc.abstractmethod
    async def presence_remove(self, room: str, member: str) -> None: ...

    @abc.abstractmethod
    async def presence(self, room: str) -> dict[str, bytes]:
        """Members present now, with their info."""

    @abc.abstractmethod
    async def allow(self, key: str, *, limit: int, window: float, cost: int = 1) -> bool:
        """Count `cost` hits on `key`: True while the current fixed window is within `limit`."""

    @abc.abstractmethod
    async def leaderboard_submit(self, board: str, member: str, score: float) -> None:
        """Keep the member's best score on the board."""

    @abc.abstractmethod
    async def leaderboard_top(self, board: str, n: int = 10) -> list[tuple[str, float]]:
        """The best `n` (member, score), best first (ties by member)."""

    @abc.abstractmethod
    async def leaderboard_rank(self, board: str, member: str) -> int | None:
        """0-based rank, best first; None if the member has no score."""


class InMemoryFanout(Fanout):
    """Everything in this process: one node, no Redis."""

    def __init__(self, **options: Unpack[FanoutOptions]) -> None:
        super().__init__(**options)
        self._history: dict[str, deque[tuple[int, bytes]]] = {}
        self._presence: dict[str, dict[str, tuple[float, bytes]]] = {}
        self._windows = FixedWindows()
        self._boards: dict[str, dict[str, float]] = {}

    async def publish(self, room: str, payload: bytes, *, rseq: int | None = None) -> None:
        if self.closed:
            raise SubscriptionClosed(room)
        self.published += 1
        if rseq is not None:
            retained = self._history.get(room)
            if retained is None:
                retained = self._history[room] = deque(maxlen=self.history_len)
            retained.append((rseq, payload))
        self._deliver(room, payload)

    async def history(self, room: str, after_rseq: int) -> History:
        return history_of(list(self._history.get(room, ())), after_rseq)

    async def forget_room(self, room: str) -> None:
        self._history.pop(room, None)
        self._presence.pop(room, None)

    async def presence_touch(
        self, room: str, member: str, info: bytes = b"", *, ttl: float = 30.0
    ) -> None:
        self._presence.setdefault(room, {})[member] = (self.clock() + ttl, bytes(info))

    async def presence_remove(self, room: str, member: str) -> None:
        members = self._presence.get(room)
        if members is not None:
            members.pop(member, None)

    async def presence(self, room: str) -> dict[str, bytes]:
        members = self._presence.get(room)
        if not members:
            return {}
        now = self.clock()
        for member in [m for m, (expires, _) in members.items() if expires <= now]:
            del members[member]
        return {member: info for member, (_, info) in members.items()}

    async def allow(self, key: str, *, limit: int, window: float, cost: int = 1) -> bool:
        return self._windows.hit(key, limit=limit, window=window, now=self.clock(), cost=cost)

    async def leaderboard_submit(self, board: str, member: str, score: float) -> None:
        scores = self._boards.setdefault(board, {})
        if member not in scores or score > scores[member]:
            scores[member] = float(score)

    async def leaderboard_top(self, board: str, n: int = 10) -> list[tuple[str, float]]:
        ranked = sorted(self._boards.get(board, {}).items(), key=lambda e: (-e[1], e[0]))
        return ranked[: max(n, 0)]

    async def leaderboard_rank(self, board: str, member: str) -> int | None:
        ranked = await self.leaderboard_top(board, len(self._boards.get(board, {})))
        for rank, (name, _) in enumerate(ranked):
            if name == member:
                return rank
        return None


def make_fanout(settings: Settings, **options: Unpack[FanoutOptions]) -> Fanout:
    """The Redis backend if `INKROOM_REDIS_URL` is set, else the in-process one (not started)."""
    if settings.redis_url is None:
        return InMemoryFanout(**options)
    from server.fanout_redis import RedisFanout

    return RedisFanout(settings.redis_url, **options)
