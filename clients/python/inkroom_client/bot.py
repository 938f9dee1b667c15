"""Bots: players that sign up, join or create rooms (or practise solo) and draw every step with
real human strokes (`inkroom_client.strokes`), against a live server. `inkroom bot` runs them.

Theory of operation. One `Bot` per player, all in one asyncio loop (`run_bots`). A bot signs up
over HTTP, connects with `auto_reconnect` (a dropped socket or a `going_away` is reconnected and
resumed by the client; the bot only waits for the socket before its next batch), and reads
everything the server sends in one consumer task, which updates the bot's view of the room
(current step, results, who is present) and wakes the drawing task. The drawing task never reads
the inbox itself: it waits on that view.

- **Rooms.** Players are grouped into rooms of `room_size`; each group's first bot creates the
  room (`create_room`), publishes the join code to its group, and starts the room when every
  bot of the group is present or after `start_after_s`; the others `join_room`. With `join`,
  every bot joins that code (a room made by a person): as a guest while it waits, drawing once
  its host starts it; as a spectator if it is already active. With `solo`, each bot runs one
  attempt of the lesson.
- **Drawing a step.** For each target of the step, one stroke (`StrokeMaker`: a real stroke
  chosen for that target's shape and fitted onto it, or a synthesised one), its points in
  batches every ~16 ms of the stroke's own time, each sent when its window has passed in real
  time (divided by `speed`); a real pen-up time before each stroke; then `step_end`. A step that
  the room leaves meanwhile (a timer ran out, the host ended it) stops the drawing.
- **Limits.** The server's `welcome.limits` bound the bot: batches are never sent faster than
  half of `max_messages_per_second` (at a high `speed` the windows widen so that batches hold
  more points), every sequenced message goes through a token bucket at 80 % of it, and no
  batch holds more than `max_points_per_batch`.
- **Latency.** batch -> feedback is the client's own measure (`InkroomClient.latency.feedback`).
  batch -> peer: the sender notes the time just before sending a batch under (its user, the
  batch's exact bytes) in the process's `PeerClock`; a bot of the same room receiving that
  `peer_points` (the server relays the bytes unchanged) looks the key up when its consumer
  reads the message. Only bots in one process can be matched, so rooms are never split across
  processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import operator
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final, TypeVar

import numpy as np

from inkroom_client.bot_stats import BotStats
from inkroom_client.connection import InkroomClient
from inkroom_client.errors import ConnectionLostError, InkroomClientError, ServerError
from inkroom_client.http import HttpApi, HttpError
from inkroom_client.lesson_plan import LessonError, StepPlan, lesson_plan
from inkroom_client.strokes import BATCH_MS, StrokeBank, StrokeMaker, batches, profile_for
from server.protocol import (
    AttemptResult,
    AttemptStarted,
    DeviceInfo,
    Error,
    FinalResults,
    GoingAway,
    Message,
    PeerPoints,
    PresenceUpdate,
    RoomJoined,
    Snapshot,
    StepResult,
    StepStarted,
    StrokeScored,
    Welcome,
    pack_points,
)
from server.protocol_errors import DEFAULT_LIMITS

T = TypeVar("T")
STYLUS: Final = DeviceInfo("stylus", pressure=True, tilt=True, model="inkroom bot")
SIGNUPS_AT_ONCE: Final = 4  # argon2 is CPU-bound on the server
BATCH_SHARE: Final = 0.5  # of max_messages_per_second, for points batches
SEND_SHARE: Final = 0.8  # of max_messages_per_second, for everything sequenced
ANSWER_TIMEOUT_S: Final = 60.0  # for an answer the server owes the bot right away


@dataclass(frozen=True)
class BotConfig:
    server: str  # http(s) base URL
    lesson: str | None = None  # None with `join`
    players: int = 1
    join: str | None = None
    solo: bool = False
    room_size: int = 0  # 0: every player in one room
    strokes: Path | None = None  # None: where inkroom_client.mmg finds the data
    synthetic: bool = False
    speed: float = 1.0
    seed: int = 0
    start_after_s: float = 60.0
    first: int = 0  # the first player's number (several processes)
    tag: str = field(default_factory=lambda: secrets.token_hex(4))  # makes emails unique

    @property
    def mode(self) -> str:
        return "solo" if self.solo else "join" if self.join else "room"


class PeerClock:
    """Send times of batches that bots of this process expect peers to receive (module doc)."""

    def __init__(self) -> None:
        self._sent: dict[tuple[int, bytes], list[float]] = {}  # -> [sent at, copies to come]

    def sent(self, user: int, data: bytes, copies: int, now: float) -> None:
        if copies > 0:
            self._sent[(user, data)] = [now, float(copies)]

    def received(self, user: int, data: bytes, now: float) -> float | None:
        """Seconds since the batch was sent, or None for a batch no bot here sent."""
        entry = self._sent.get((user, data))
        if entry is None:
            return None
        entry[1] -= 1
        if entry[1] <= 0:
            del self._sent[(user, data)]
        return now - entry[0]

    def __len__(self) -> int:
        return len(self._sent)


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.at = time.monotonic()

    async def take(self) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return
            await asyncio.sleep((1.0 - self.tokens) / self.rate)


class Group:
    """The bots of one room in this process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.code: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.gone: set[int] = set()  # users whose bots have stopped playing


class Run:
    """What the bots of one process share."""

    def __init__(self, config: BotConfig, bank: StrokeBank, stats: BotStats) -> None:
        self.config = config
        self.bank = bank
        self.stats = stats
        self.peers = PeerClock()
        self.signups = asyncio.Semaphore(SIGNUPS_AT_ONCE)
        self.lessons: dict[str, asyncio.Task[list[StepPlan]]] = {}
        self.bots: list[Bot] = []

    def lesson(self, slug: str, api: HttpApi) -> Awaitable[list[StepPlan]]:
        task = self.lessons.get(slug)
        if task is None:

            async def fetch() -> list[StepPlan]:
                return lesson_plan(await api.request("GET", f"/api/lessons/{slug}"))

            task = self.lessons[slug] = asyncio.ensure_future(fetch())
        return asyncio.shield(task)

    def harvest(self) -> None:
        """Move the clients' new latency samples and reconnects into the stats."""
        for bot in self.bots:
            bot.harvest()


class StepMovedOn(Exception):  # noqa: N818 - control flow, not an error
    """The room moved on (or ended) while the bot was drawing a step."""


class Bot:
    def __init__(self, run: Run, number: int, group: Group | None, host: bool) -> None:
        self.run = run
        self.config = run.config
        self.stats = run.stats
        self.number = number
        self.group = group
        self.host = host
        self.api = HttpApi(self.config.server)
        self.client: InkroomClient | None = None
        self.maker = StrokeMaker(
            run.bank, self.config.seed * 100_003 + number, run.config.synthetic
        )
        self.user = -1
        self.role = ""
        self.code: str | None = None
        self.lesson_slug = self.config.lesson or ""
        self.limits: dict[str, float] = {}
        self._token = ""
        self._token_bucket: TokenBucket | None = None
        self.step = -1
        self.steps = 0
        self.epoch = 0  # +1 at every step_started
        self.results: dict[int, StepResult] = {}  # step -> the bot's result
        self.present = 0  # players (not spectators) here
        self.here: set[int] = set()  # bots of this run here in the room, by this bot's presence
        self.finished = False
        self.failed: BaseException | None = None
        self._changed = asyncio.Event()
        self._taken_feedback = 0
        self._taken_reconnects = 0
        self._connected = False
        self._recovering: asyncio.Task[None] | None = None

    # -- the whole life of a player --------------------------------------------------------

    async def play(self) -> None:
        stats = self.stats
        try:
            await self._sign_up()
            async with InkroomClient.connect(
                self.api.ws_url, self._token, device=STYLUS, auto_reconnect=True,
                reconnect_attempts=8, open_timeout_s=30.0,
            ) as client:  # fmt: skip
                self.client = client
                self._connected = True
                stats.counts["connected"] += 1
                assert client.welcome is not None
                self.user = client.welcome.user
                self.limits = client.welcome.limits
                consumer = asyncio.create_task(self._consume(client))
                try:
                    await self._flow()
                except asyncio.CancelledError:
                    await self._leave_politely()
                    raise
                finally:
                    consumer.cancel()
                    await asyncio.gather(consumer, return_exceptions=True)
                    self.harvest()
        except asyncio.CancelledError:
            raise
        except HttpError as exc:
            stats.errors[f"http:{exc.code}"] += 1
            self._fail(exc)
        except (InkroomClientError, OSError, TimeoutError) as exc:
            if exc is not self.failed:  # not already counted where it happened
                if isinstance(exc, ServerError):
                    stats.errors[exc.code] += 1
                self._fail(exc)
        finally:
            if self._connected:
                stats.counts["connected"] -= 1
                self._connected = False
            if self.group is not None:
                self.group.gone.add(self.user)

    def _fail(self, exc: BaseException) -> None:
        self.failed = exc
        if self.host and self.group is not None and not self.group.code.done():
            self.group.code.set_exception(InkroomClientError(f"the host failed: {exc}"))
        self.stats.counts["failures"] += 1
        if isinstance(exc, ConnectionLostError):
            self.stats.counts["disconnects"] += 1
        self.stats.note(f"bot {self.number + 1}: {type(exc).__name__}: {exc}")

    async def _sign_up(self) -> None:
        c = self.config
        email = f"bot-{c.tag}-{self.number + 1}@example.com"
        password = secrets.token_urlsafe(18) + "-Aa7"
        async with self.run.signups:
            self._token = await self.api.signup(email, password, f"bot {self.number + 1}")
        self.stats.counts["signed_up"] += 1

    async def _flow(self) -> None:
        c = self.config
        if c.solo:
            assert c.lesson is not None
            await self._solo(c.lesson)
        elif c.join:
            await self._join(c.join)
        elif self.host:
            await self._host()
        else:
            await self._guest()

    async def _leave_politely(self) -> None:
        """Interrupted: a host ends its room so the people in it are not left waiting."""
        client = self.client
        if self.host and client is not None and self.role == "host" and not self.finished:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.end_room(), 1.0)

    # -- rooms -----------------------------------------------------------------------------

    async def _host(self) -> None:
        client, group = self._client(), self.group
        assert group is not None and self.config.lesson is not None
        await client.create_room(self.config.lesson)
        await self._until(lambda: bool(self.role), ANSWER_TIMEOUT_S)
        assert self.code is not None
        group.code.set_result(self.code)
        self.stats.note(f"room {self.code}: hosted by bot {self.number + 1}")
        with contextlib.suppress(TimeoutError):
            await self._until(lambda: self.present >= group.size, self.config.start_after_s)
        await self._send(client.start_room)
        await self._draw_room()

    async def _guest(self) -> None:
        assert self.group is not None
        code = await asyncio.wait_for(asyncio.shield(self.group.code), ANSWER_TIMEOUT_S * 2)
        await self._enter(code)

    async def _join(self, code: str) -> None:
        await self._enter(code)

    async def _enter(self, code: str) -> None:
        client = self._client()
        await client.join_room(code)
        await self._until(lambda: bool(self.role), ANSWER_TIMEOUT_S)
        if self.role == "spectator":
            self.stats.counts["spectators"] += 1
            self.stats.note(
                f"bot {self.number + 1} joined room {code} as a spectator: it is already active"
            )
            await self._until(lambda: self.finished, None)
            self.stats.counts["finished"] += 1
            return
        await self._draw_room()

    async def _draw_room(self) -> None:
        plan = await self.run.lesson(self.lesson_slug, self.api)
        drawn = 0
        while await self._new_step(drawn, None):
            drawn, step = self.epoch, self.step
            if not 0 <= step < len(plan):
                raise LessonError(f"step {step} is not in the lesson's {len(plan)} steps")
            with contextlib.suppress(StepMovedOn):
                await self._draw_step(plan[step], drawn)
        self.stats.counts["finished"] += 1

    # -- solo ------------------------------------------------------------------------------

    async def _solo(self, lesson: str) -> None:
        client = self._client()
        plan = await self.run.lesson(lesson, self.api)
        await client.start_attempt(lesson)
        drawn = 0
        while await self._new_step(drawn, ANSWER_TIMEOUT_S):
            drawn, step = self.epoch, self.step
            if not 0 <= step < len(plan):
                raise LessonError(f"step {step} is not in the lesson's {len(plan)} steps")
            await self._draw_step(plan[step], drawn)
            await self._until(partial(operator.contains, self.results, step), ANSWER_TIMEOUT_S)
            await self._send(client.next_step)
        self.stats.counts["finished"] += 1

    async def _new_step(self, drawn: int, timeout: float | None) -> bool:
        """Until a step starts after epoch `drawn` (True) or the room or attempt ends (False)."""
        await self._until(lambda: self.finished or self.epoch != drawn, timeout)
        return not self.finished

    # -- drawing ---------------------------------------------------------------------------

    async def _draw_step(self, step: StepPlan, epoch: int) -> None:
        client = self._client()
        for i, target in enumerate(step.targets):  # a pen-up time before each, as people do
            await self._pause(self.maker.gap_ms() / 1000.0 / self.config.speed, epoch)
            rows = self.maker.make(target, profile_for(step.pressure_profile, i))
            await self._stroke(rows, epoch)
        self._check(epoch)
        await self._send(client.step_end)
        self.stats.counts["steps_ended"] += 1

    async def _stroke(self, rows: np.ndarray[Any, Any], epoch: int) -> None:
        client, stats, speed = self._client(), self.stats, self.config.speed
        rate = self._limit("max_messages_per_second")
        window_ms = max(BATCH_MS, speed * 1000.0 / (BATCH_SHARE * rate))
        plan = batches(rows, window_ms, int(self._limit("max_points_per_batch")))
        self._check(epoch)
        await self._send(client.stroke_begin)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for due_ms, batch in plan:
            delay = start + due_ms / 1000.0 / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._wait_connected()
            self._check(epoch)
            await self._bucket().take()
            if self.group is not None:
                copies = len(self.here - self.group.gone - {self.user})
                self.run.peers.sent(self.user, pack_points(batch), copies, time.perf_counter())
            await client.send_points(batch)
            stats.counts["batches_sent"] += 1
            stats.counts["points_sent"] += len(batch)
        await self._send(client.stroke_end)
        stats.counts["strokes_sent"] += 1

    async def _pause(self, seconds: float, epoch: int) -> None:
        with contextlib.suppress(TimeoutError):
            await self._until(lambda: self.finished or self.epoch != epoch, seconds)
        self._check(epoch)

    def _check(self, epoch: int) -> None:
        if self.finished or self.epoch != epoch:
            raise StepMovedOn

    async def _send(self, send: Callable[[], Awaitable[int]]) -> int:
        await self._wait_connected()
        await self._bucket().take()
        return await send()

    def _bucket(self) -> TokenBucket:
        if self._token_bucket is None:
            rate = SEND_SHARE * self._limit("max_messages_per_second")
            self._token_bucket = TokenBucket(rate, max(1.0, rate / 4))
        return self._token_bucket

    def _limit(self, name: str) -> float:
        value = self.limits.get(name)
        default = float(getattr(DEFAULT_LIMITS, name))
        if not isinstance(value, int | float) or not math.isfinite(value) or value < 1:
            return default
        return float(value)

    async def _wait_connected(self) -> None:
        client = self._client()
        while not client.connected:
            if self.failed is not None:
                raise self.failed
            await asyncio.sleep(0.05)

    # -- receiving -------------------------------------------------------------------------

    def _client(self) -> InkroomClient:
        assert self.client is not None
        return self.client

    async def _until(self, condition: Callable[[], bool], timeout: float | None) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                if self.failed is not None:
                    raise self.failed
                event = self._changed
                await event.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _consume(self, client: InkroomClient) -> None:
        try:
            async for message in client:
                self._on(message, time.perf_counter())
                self._notify()
        except ServerError as exc:
            self.stats.errors[exc.code] += 1
            self._fail(exc)
        except InkroomClientError as exc:
            self._fail(exc)
        self._notify()

    def _on(self, message: Message, now: float) -> None:
        stats = self.stats
        if isinstance(message, PeerPoints):
            latency = self.run.peers.received(message.user, message.bin, now)
            if latency is not None:
                stats.peer_ms.append(latency * 1000.0)
        elif isinstance(message, StrokeScored):
            stats.stroke_totals.append(message.total)
        elif isinstance(message, StepStarted):
            self.step = message.step
            self.epoch += 1
        elif isinstance(message, StepResult):
            self.results[message.score.step] = message
            stats.counts["steps_scored"] += 1
            stats.counts["steps_passed"] += int(message.score.passed)
        elif isinstance(message, PresenceUpdate):
            here = [p for p in message.participants if p.presence == "here"]
            self.present = sum(1 for p in here if p.role != "spectator")
            if self.group is not None:
                # this bot's own view, in its room's order: a view shared by the group
                # could be overwritten by another bot's older presence read later
                self.here = {p.user for p in here} & {b.user for b in self.run.bots}
        elif isinstance(message, RoomJoined):
            self.role, self.code, self.lesson_slug = message.role, message.code, message.lesson
            self.steps = message.steps
        elif isinstance(message, AttemptStarted):
            self.role, self.steps, self.lesson_slug = "solo", message.steps, message.lesson
        elif isinstance(message, FinalResults):
            self.finished = True
            for result in message.results:
                if result.user == self.user:
                    stats.final_totals.append(result.total)
        elif isinstance(message, AttemptResult):
            self.finished = True
            stats.final_totals.append(message.total)
        elif isinstance(message, Snapshot):
            if message.state == "finished":
                self.finished = True
            elif message.step != self.step:
                self.step = message.step
                self.epoch += 1
        elif isinstance(message, Error):
            stats.errors[message.code] += 1
            if message.code == "rate_limited":  # the batch was dropped: resend it (client doc)
                self._recover()
            elif message.seq is None and not self.role:  # the room or attempt was refused
                self._fail(ServerError.of(message))
        elif isinstance(message, GoingAway):
            stats.note(f"bot {self.number + 1}: going_away ({message.reason})")
        elif isinstance(message, Welcome):
            self.limits = message.limits

    def _recover(self) -> None:
        if self._recovering is None or self._recovering.done():

            async def recover() -> None:
                await asyncio.sleep(0.5)
                with contextlib.suppress(InkroomClientError, OSError, TimeoutError):
                    await self._client().reconnect()

            self._recovering = asyncio.create_task(recover())

    def harvest(self) -> None:
        client = self.client
        if client is None:
            return
        feedback = client.latency.feedback
        self.stats.feedback_ms.extend(s * 1000.0 for s in feedback[self._taken_feedback :])
        self._taken_feedback = len(feedback)
        self.stats.counts["reconnects"] += client.reconnects - self._taken_reconnects
        self._taken_reconnects = client.reconnects


def groups(players: int, room_size: int) -> list[int]:
    """The sizes of the rooms `players` bots make (room_size 0: one room)."""
    if players < 1:
        return []
    size = players if room_size <= 0 else room_size
    return [min(size, players - start) for start in range(0, players, size)]


async def run_bots(
    config: BotConfig,
    stats: BotStats,
    stop: asyncio.Event | None = None,
    bank: StrokeBank | None = None,
    on_tick: Callable[[Run], None] | None = None,
    tick_s: float = 0.5,
) -> Run:
    """Play `config.players` bots to the end (or until `stop` is set: then they stop, a host
    ending its room). `on_tick` is called every `tick_s` with the run, after a harvest."""
    if bank is None:
        bank = (
            StrokeBank([], "synthetic")
            if config.synthetic
            else await asyncio.to_thread(StrokeBank.load, config.strokes)
        )
    run = Run(config, bank, stats)
    stats.counts["players"] += config.players
    number = config.first
    if config.solo or config.join:
        group = Group(config.players) if config.join else None  # join: one room, no host here
        for _ in range(config.players):
            run.bots.append(Bot(run, number, group, host=False))
            number += 1
    else:
        for size in groups(config.players, config.room_size):
            group = Group(size)
            for k in range(size):
                run.bots.append(Bot(run, number, group, host=k == 0))
                number += 1
    tasks = [asyncio.create_task(bot.play()) for bot in run.bots]
    everyone = asyncio.gather(*tasks, return_exceptions=True)
    stopping = asyncio.ensure_future(stop.wait()) if stop is not None else None
    try:
        while not everyone.done():
            waiting: list[asyncio.Future[Any]] = [everyone]
            if stopping is not None:
                waiting.append(stopping)
            await asyncio.wait(waiting, timeout=tick_s, return_when=asyncio.FIRST_COMPLETED)
            run.harvest()
            if on_tick is not None:
                on_tick(run)
            if stopping is not None and stopping.done():
                break
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(everyone, return_exceptions=True)
        if stopping is not None:
            stopping.cancel()
        for fetch in run.lessons.values():
            fetch.cancel()
        run.harvest()
    return run
