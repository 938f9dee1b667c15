"""The Redis fan-out backend: rooms shared by several server processes.

Theory of operation. Each room is one pub/sub channel. `publish` delivers to this node's own
subscribers at once and queues the message for Redis; a sender task writes queued messages in
batches, each batch one MULTI/EXEC of PUBLISH (and, for a message with an rseq, XADD to the
room's history stream, trimmed with MAXLEN ~). What goes on a channel is a frame:

    u8 n | n bytes: the publishing node's id | the payload, untouched

so every node can ignore its own echoes (it has delivered them already), and payloads are
never decoded: any bytes survive. One listener task holds one pub/sub connection, subscribed to
the channels of the rooms this node has subscribers in; a message it cannot handle is logged
and skipped, and a lost connection is re-made with backoff, every room subscribed again.

Pub/sub is at most once: what is published while a node is cut off from Redis does not reach
it. Resuming clients read the history stream (`history`) to fill such gaps, by rseq.

Because a batch is atomic, a reader that subscribes first and then reads history sees every
message either live or in history (possibly both: dedupe by rseq), never neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from typing import Any, Final, Unpack

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from server.fanout import Fanout, FanoutOptions, History, SubscriptionClosed

log = logging.getLogger(__name__)

BATCH: Final = 256  # messages per MULTI/EXEC
HISTORY_PAGE: Final = 512
LISTEN_POLL: Final = 1.0  # seconds a listener read waits before checking its health again

# prune expired presence entries and read the live ones, atomically
_PRESENCE_READ: Final = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
  redis.call('HDEL', KEYS[2], unpack(expired))
end
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
if #live == 0 then return {{}, {}} end
return {live, redis.call('HMGET', KEYS[2], unpack(live))}
"""


class RedisFanout(Fanout):
    def __init__(
        self,
        redis: str | Redis,
        *,
        prefix: str = "inkroom:",
        outbox_max_bytes: int = 16 << 20,
        history_ttl: int = 3600,
        subscribe_timeout: float = 2.0,
        backoff_initial: float = 0.05,
        backoff_max: float = 5.0,
        **options: Unpack[FanoutOptions],
    ) -> None:
        super().__init__(**options)
        if isinstance(redis, str):
            redis = Redis.from_url(
                redis, health_check_interval=30, client_name=f"inkroom-{self.node_id}"
            )
            self._owns_client = True
        else:
            self._owns_client = False
        if redis.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError("the fan-out needs a Redis client without decode_responses")
        self.redis = redis
        self.prefix = prefix
        self.outbox_max_bytes = outbox_max_bytes
        self.history_ttl = history_ttl
        self.subscribe_timeout = subscribe_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        node = self.node_id.encode()
        if not 0 < len(node) < 256:
            raise ValueError("a node id is 1..255 bytes")
        self._tag = bytes([len(node)]) + node
        self._control = f"{prefix}node:{self.node_id}".encode()
        self._channel_rooms: dict[bytes, str] = {}
        self._confirmed: dict[bytes, asyncio.Event] = {}
        self._pubsub: PubSub | None = None
        self._sub_lock = asyncio.Lock()
        self._listening = asyncio.Event()
        self._outbox: deque[tuple[str, bytes, int | None]] = deque()
        self._outbox_bytes = 0
        self._outbox_ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._presence_read = self.redis.register_script(_PRESENCE_READ)
        # counters
        self.received = 0  # messages from other nodes
        self.echoes_ignored = 0
        self.listener_errors = 0  # messages the listener could not handle
        self.reconnects = 0
        self.send_failures = 0
        self.outbox_dropped = 0

    def key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    def _channel(self, room: str) -> bytes:
        return self.key("room", room).encode()

    # --- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Check Redis is there (fail fast on a wrong URL), then start listening and sending."""
        await self.redis.ping()
        self._tasks = [
            asyncio.create_task(self._listen_forever(), name=f"fanout-listen-{self.node_id}"),
            asyncio.create_task(self._send_forever(), name=f"fanout-send-{self.node_id}"),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), self.subscribe_timeout)

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until everything published here has been written to Redis; False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self, timeout: float = 5.0) -> None:
        if self.closed:
            return
        if self._tasks and not await self.drain(timeout):
            log.warning("fan-out closing with %d messages not sent to Redis", len(self._outbox))
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await super().close()
        if self._owns_client:
            await self.redis.aclose()

    # --- publishing -----------------------------------------------------------------------

    async def publish(self, room: str, payload: bytes, *, rseq: int | None = None) -> None:
        if self.closed:
            raise SubscriptionClosed(room)
        self.published += 1
        self._deliver(room, payload)
        self._outbox.append((room, payload, rseq))
        self._outbox_bytes += len(payload)
        while self._outbox_bytes > self.outbox_max_bytes and len(self._outbox) > 1:
            # Redis is gone or slow: the oldest messages go (history fills the gap later)
            _, dropped, _ = self._outbox.popleft()
            self._outbox_bytes -= len(dropped)
            self.outbox_dropped += 1
            if self.outbox_dropped % 1000 == 1:
                log.warning("Redis outbox full: %d messages dropped so far", self.outbox_dropped)
        self._idle.clear()
        self._outbox_ready.set()

    async def _send_forever(self) -> None:
        backoff = self.backoff_initial
        while True:
            if not self._outbox:
                self._idle.set()
                self._outbox_ready.clear()
                await self._outbox_ready.wait()
                continue
            batch = [self._outbox.popleft() for _ in range(min(BATCH, len(self._outbox)))]
            self._outbox_bytes -= sum(len(p) for _, p, _ in batch)
            while True:
                try:
                    await self._send(batch)
                    backoff = self.backoff_initial
                    break
                except (RedisError, OSError) as exc:
                    self.send_failures += 1
                    log.warning("publishing to Redis failed (%r); retrying in %.2fs", exc, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.backoff_max)

    async def _send(self, batch: list[tuple[str, bytes, int | None]]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            for room, payload, rseq in batch:
                pipe.publish(self._channel(room), self._tag + payload)
                if rseq is not None:
                    stream = self.key("history", room)
                    pipe.xadd(stream, {b"r": rseq, b"p": payload}, maxlen=self.history_len)
                    pipe.expire(stream, self.history_ttl)
            await pipe.execute()

    # --- listening ------------------------------------------------------------------------

    async def _room_opened(self, room: str) -> None:
        channel = self._channel(room)
        self._confirmed[channel] = asyncio.Event()
        async with self._sub_lock:
            self._channel_rooms[channel] = room
            if self._pubsub is not None:
                try:
                    await self._pubsub.subscribe(channel)
                except (RedisError, OSError) as exc:
                    log.warning("subscribing to %r failed (%r); the listener will retry", room, exc)
        await self._room_joined(room)

    async def _room_joined(self, room: str) -> None:
        # until Redis confirms the channel, other nodes' messages would not arrive
        confirmed = self._confirmed.get(self._channel(room))
        if confirmed is None:
            return
        try:
            await asyncio.wait_for(confirmed.wait(), self.subscribe_timeout)
        except TimeoutError:
            log.warning("room %r: Redis has not confirmed the subscription yet", room)

    async def _room_closed(self, room: str) -> None:
        channel = self._channel(room)
        async with self._sub_lock:
            self._channel_rooms.pop(channel, None)
            self._confirmed.pop(channel, None)
            if self._pubsub is not None:
                try:
                    await self._pubsub.unsubscribe(channel)
                except (RedisError, OSError) as exc:
                    log.warning("unsubscribing from %r failed: %r", room, exc)

    async def _listen_forever(self) -> None:
        backoff = self.backoff_initial
        first = True
        while True:
            pubsub = self.redis.pubsub()
            try:
                async with self._sub_lock:
                    for event in self._confirmed.values():
                        event.clear()
                    await pubsub.subscribe(self._control, *self._channel_rooms)
                    self._pubsub = pubsub
                if not first:
                    self.reconnects += 1
                    log.info("fan-out listener reconnected to Redis")
                first = False
                while True:
                    message = await pubsub.get_message(timeout=LISTEN_POLL)
                    if message is not None:
                        self._handle(message)
                        if message["type"] == "subscribe" and message["channel"] == self._control:
                            self._listening.set()
                            backoff = self.backoff_initial
            except (RedisError, OSError) as exc:
                log.warning("fan-out listener lost Redis (%r); reconnecting in %.2fs", exc, backoff)
            except Exception:
                log.exception("fan-out listener failed; restarting it in %.2fs", backoff)
            finally:
                self._pubsub = None
                self._listening.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max)

    def _handle(self, message: dict[str, Any]) -> None:
        try:
            channel = message["channel"]
            if message["type"] == "subscribe":
                confirmed = self._confirmed.get(channel)
                if confirmed is not None:
                    confirmed.set()
                return
            if message["type"] != "message":
                return
            data = message["data"]
            if not isinstance(data, bytes) or not data or len(data) < 1 + data[0]:
                raise ValueError(f"not a fan-out frame: {data!r:.60}")
            if data[: 1 + data[0]] == self._tag:
                self.echoes_ignored += 1
                return
            room = self._channel_rooms.get(channel)
            if room is None:
                return  # a late message for a room this node has left
            self.received += 1
            self._deliver(room, data[1 + data[0] :])
        except Exception:
            self.listener_errors += 1
            log.exception("fan-out: skipped a message it could not handle")

    # --- history, presence, rate limits, leaderboards -------------------------------------

    async def history(self, room: str, after_rseq: int) -> History:
        # what this node published must be in the stream before it is read
        await self.drain(self.subscribe_timeout)
        stream = self.key("history", room)
        entries: list[tuple[int, bytes]] = []
        boundary = False
        top: Any = "+"
        while not boundary:
            # redis-py types replies loosely; a stream page is [(id, {field: value}), ...]
            page: Any = await self.redis.xrevrange(stream, max=top, min="-", count=HISTORY_PAGE)
            for _, fields in page:
                rseq = int(fields[b"r"])
                if rseq <= after_rseq:
                    boundary = True
                    break
                entries.append((rseq, fields[b"p"]))
            if len(page) < HISTORY_PAGE:
                break
            top = b"(" + page[-1][0]
        entries.sort(key=lambda e: e[0])
        if entries:
            complete = all(r == after_rseq + 1 + i for i, (r, _) in enumerate(entries))
        else:
            complete = boundary
        return History(entries, complete)

    async def forget_room(self, room: str) -> None:
        await self.redis.delete(
            self.key("history", room), self.key("presence", room), self.key("presence-info", room)
        )

    async def presence_touch(
        self, room: str, member: str, info: bytes = b"", *, ttl: float = 30.0
    ) -> None:
        # the keys outlive their longest entry, so an abandoned room cleans itself up
        expiry = max(math.ceil(ttl), 1) + 60
        members, infos = self.key("presence", room), self.key("presence-info", room)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(members, {member: self.clock() + ttl})
            pipe.hset(infos, member, info)
            for key in (members, infos):
                pipe.expire(key, expiry, nx=True)
                pipe.expire(key, expiry, gt=True)
            await pipe.execute()

    async def presence_remove(self, room: str, member: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.key("presence", room), member)
            pipe.hdel(self.key("presence-info", room), member)
            await pipe.execute()

    async def presence(self, room: str) -> dict[str, bytes]:
        keys = [self.key("presence", room), self.key("presence-info", room)]
        live, info = await self._presence_read(keys=keys, args=[repr(self.clock())])
        return {m.decode(): i or b"" for m, i in zip(live, info, strict=True)}

    async def allow(self, key: str, *, limit: int, window: float, cost: int = 1) -> bool:
        if window <= 0 or limit < 0 or cost < 1:
            raise ValueError("window must be positive, limit non-negative, cost at least 1")
        index = math.floor(self.clock() / window)
        counter = self.key("rate", f"{key}:{window!r}:{index}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incrby(counter, cost)
            pipe.expire(counter, math.ceil(window) + 1)
            count, _ = await pipe.execute()
        return int(count) <= limit

    # scores are stored negated, so ascending order is best first with ties by member name
    async def leaderboard_submit(self, board: str, member: str, score: float) -> None:
        await self.redis.zadd(self.key("board", board), {member: -float(score)}, lt=True)

    async def leaderboard_top(self, board: str, n: int = 10) -> list[tuple[str, float]]:
        if n <= 0:
            return []
        rows: Any = await self.redis.zrange(self.key("board", board), 0, n - 1, withscores=True)
        return [(member.decode(), -score) for member, score in rows]

    async def leaderboard_rank(self, board: str, member: str) -> int | None:
        rank: Any = await self.redis.zrank(self.key("board", board), member)
        return None if rank is None else int(rank)
