"""The persistence writer: what rooms and attempts produce reaches the database off their path.

Theory of operation. Producers `await writer.put(item)` (or the `add_*` shorthands); the item
joins a FIFO queue bounded in bytes, and once the bound is reached producers wait (backpressure):
accepted data is never dropped. `put_nowait` queues without awaiting where there is room, so a
handler on the live path need not become a task for a stroke it persists; where there is no
room it says so and the caller awaits `put`. One task takes the queue's head, up to
`max_items` items or whatever arrived within `max_delay` seconds of the first, and writes it as
one transaction: strokes in one COPY (Postgres) or multi-row INSERT (SQLite), then events,
attempt finishes, shared step results and participant results, each through
`schema.repository`. Items leave the queue only once their transaction has committed.

When the database is unavailable (a connection error, a timeout, a lock) the same batch is
retried with backoff until it goes through, and nothing behind it overtakes it. A retry may
follow a commit that did happen (the connection died before the answer came), so a retried
batch first skips what is already there: strokes by their unique (attempt_id, seq), events by
all their fields (their `ts` is fixed when they are queued), shared results by session, step
and score; an attempt finish that finds the attempt already finished counts as done. An item
the database refuses for itself (a broken constraint, an unknown attempt) is not retried
forever: the batch is written item by item, and the refused item is logged and kept in
`dead_letters`.

`flush()` waits until everything queued before it is written; `close()` flushes and stops.
`depth` and `depth_bytes` are the queue's size for the metrics gauge (`on_depth` is called
whenever it changes).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from schema import repository as repo
from schema.base import utcnow
from schema.repository import NewEvent, NewStroke, StrokeRecord, StrokeWrite
from server.writer_items import (
    FinishAttempt,
    NewAttempt,
    ParticipantResults,
    SharedResult,
    WriteItem,
    describe,
    event_key,
    existing_attempts,
    existing_events,
    existing_shared,
    existing_stroke_keys,
    is_retryable,
    item_size,
)

log = logging.getLogger(__name__)

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
DEAD_LETTERS_KEPT: Final = 1000


@dataclass(eq=False)
class _Entry:
    item: WriteItem
    size: int
    record: StrokeRecord | None = None  # a stroke's row, encoded once (retries reuse it)


@dataclass
class _Totals:
    attempts: int = 0
    strokes: int = 0
    points: int = 0
    events: int = 0
    finishes: int = 0
    shared: int = 0
    skipped: int = 0  # items found already written on a retry
    batches: int = 0
    retries: int = 0
    dead: int = 0


def _stamped(item: WriteItem) -> tuple[WriteItem, int]:
    """The item as queued (an event gets the time it happened, fixed now) and its size."""
    if isinstance(item, NewEvent) and item.ts is None:
        item = dataclasses.replace(item, ts=utcnow())
    return item, item_size(item)


class _Changes:
    """`notify_all` and `wait_for` without a lock. On one event loop a lock adds nothing here:
    no section between two awaits can be interleaved anyway, and notifying without one lets a
    synchronous `put_nowait` wake the writing task."""

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def notify_all(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if not waiter.done():  # cancelled (a timeout): don't leave it to be notified
                    waiter.cancel()


class Writer:
    def __init__(
        self,
        sessions: SessionFactory,
        *,
        max_items: int = 500,
        max_delay: float = 0.05,
        max_bytes: int = 32 << 20,
        write_timeout: float = 15.0,
        backoff_initial: float = 0.05,
        backoff_max: float = 5.0,
        stroke_method: StrokeWrite = "auto",
        on_depth: Callable[[int], None] | None = None,
    ) -> None:
        if max_items < 1 or max_bytes < 1 or max_delay < 0:
            raise ValueError("max_items and max_bytes must be positive, max_delay non-negative")
        self.sessions = sessions  # may be swapped while running (tests, failover)
        self.max_items = max_items
        self.max_delay = max_delay
        self.max_bytes = max_bytes
        self.write_timeout = write_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.stroke_method: StrokeWrite = stroke_method
        self.on_depth = on_depth
        self.totals = _Totals()
        self.dead_letters: deque[tuple[WriteItem, str]] = deque(maxlen=DEAD_LETTERS_KEPT)
        self.depth_bytes = 0
        self._queue: deque[_Entry] = deque()
        self._queued = 0  # items ever accepted
        self._done = 0  # items ever written (or dead-lettered)
        self._changed = _Changes()
        self._waiting_puts = 0  # producers blocked in `put`: `put_nowait` does not pass them
        self._urgent = False  # a flush or close is waiting: don't wait for a batch to fill
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    @property
    def depth(self) -> int:
        return len(self._queue)

    # --- producing ------------------------------------------------------------------------

    async def put(self, item: WriteItem) -> None:
        """Queue an item; waits while the queue is full. Raises RuntimeError once closing."""
        item, size = _stamped(item)
        # an item larger than the bound alone still goes through an empty queue
        if not self._has_room(size):
            self._waiting_puts += 1
            try:
                await self._changed.wait_for(lambda: self._closing or self._has_room(size))
            finally:
                self._waiting_puts -= 1
        self._append(item, size)

    def put_nowait(self, item: WriteItem) -> bool:
        """Queue an item if the queue has room for it now; False (nothing queued) if it has
        not, and the caller awaits `put` instead. Raises RuntimeError once closing."""
        item, size = _stamped(item)
        # while a `put` waits, nothing passes it: it would wait for ever under a steady load
        if not self._closing and (self._waiting_puts or not self._has_room(size)):
            return False
        self._append(item, size)
        return True

    def _has_room(self, size: int) -> bool:
        return not self._queue or self.depth_bytes + size <= self.max_bytes

    def _append(self, item: WriteItem, size: int) -> None:
        if self._closing:
            raise RuntimeError("the writer is closed")
        self._queue.append(_Entry(item, size))
        self.depth_bytes += size
        self._queued += 1
        self._changed.notify_all()
        self._report_depth()

    async def start_attempt(
        self,
        *,
        user_id: uuid.UUID,
        lesson_id: uuid.UUID,
        scorer_version: str,
        session_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Queue a new attempt's row and return its id at once (ids are chosen here)."""
        attempt_id = uuid.uuid4()
        await self.put(
            NewAttempt(attempt_id, user_id, lesson_id, scorer_version, session_id, utcnow())
        )
        return attempt_id

    async def add_stroke(self, stroke: NewStroke) -> None:
        await self.put(stroke)

    async def add_event(self, event: NewEvent) -> None:
        await self.put(event)

    async def finish_attempt(
        self,
        attempt_id: uuid.UUID,
        *,
        user_id: uuid.UUID,
        score: float,
        score_accuracy: float,
        score_quality: float,
        finished_at: datetime | None = None,
        abandoned: bool = False,
    ) -> None:
        """Queue an attempt's end: `finished` (folded into progress) or `abandoned`."""
        await self.put(
            FinishAttempt(
                attempt_id, user_id, score, score_accuracy, score_quality,
                finished_at or utcnow(), abandoned,
            )
        )  # fmt: skip

    async def record_shared_attempt(
        self,
        *,
        session_id: uuid.UUID,
        step_id: uuid.UUID,
        aggregated_score: float,
        participant_scores: Mapping[uuid.UUID, float],
        replay_ref: str | None = None,
    ) -> None:
        await self.put(
            SharedResult(
                session_id, step_id, aggregated_score, dict(participant_scores), replay_ref
            )
        )

    async def set_participant_results(
        self, session_id: uuid.UUID, scores: Mapping[uuid.UUID, float]
    ) -> None:
        await self.put(ParticipantResults(session_id, dict(scores)))

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="inkroom-writer")

    async def flush(self) -> None:
        """Wait until every item queued before this call is written (or dead-lettered)."""
        if self._task is None or self._task.done():
            raise RuntimeError("the writer is not running")
        target = self._queued
        self._urgent = True
        self._changed.notify_all()
        await self._changed.wait_for(lambda: self._done >= target)

    async def close(self, timeout: float | None = None) -> int:
        """Stop taking items, write what is queued, stop; returns how many were left unwritten
        (non-zero only if `timeout` ran out, e.g. with the database down)."""
        self._closing = True
        self._changed.notify_all()
        if self._task is not None and not self._task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.flush(), timeout)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._queue:
            log.error("writer closed with %d items not written", len(self._queue))
        return len(self._queue)

    # --- the writing task -----------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            batch = await self._next_batch()
            await self._write_until_done(batch, retried=False)
            for _ in batch:
                entry = self._queue.popleft()
                self.depth_bytes -= entry.size
            self._done += len(batch)
            if not self._queue:
                self._urgent = False
            self._changed.notify_all()
            self._report_depth()

    async def _next_batch(self) -> list[_Entry]:
        await self._changed.wait_for(lambda: bool(self._queue))
        if self.max_delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(
                        lambda: self._urgent or self._closing or len(self._queue) >= self.max_items
                    ),
                    self.max_delay,
                )
        n = min(self.max_items, len(self._queue))
        return [self._queue[i] for i in range(n)]

    async def _write_until_done(self, batch: list[_Entry], *, retried: bool) -> None:
        backoff = self.backoff_initial
        while True:
            try:
                async with asyncio.timeout(self.write_timeout):
                    await self._write(batch, retried=retried)
                self.totals.batches += 1
                return
            except Exception as exc:
                if is_retryable(exc):
                    self.totals.retries += 1
                    log.warning(
                        "writing %d items failed (%r); retrying in %.2fs", len(batch), exc, backoff
                    )
                    retried = True
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.backoff_max)
                elif len(batch) > 1:
                    # something in the batch is refused: find it by writing item by item
                    for entry in batch:
                        await self._write_until_done([entry], retried=retried)
                    return
                else:
                    self.totals.dead += 1
                    self.dead_letters.append((batch[0].item, repr(exc)))
                    log.error(
                        "the database refused %s: %r; not retrying it", describe(batch[0].item), exc
                    )
                    return

    async def _write(self, batch: list[_Entry], *, retried: bool) -> None:
        pending = [(e, e.item) for e in batch if isinstance(e.item, NewStroke) and not e.record]
        # Encoding (numpy, zlib) is about 20 us a stroke, here on the loop: in a worker thread
        # it still needs the GIL for its numpy calls, and under load the hand-offs (two
        # thousand thread switches a second at 200 players) cost the loop more than the work.
        for entry, stroke in pending:
            entry.record = repo.stroke_record(stroke)
        strokes = [e.record for e in batch if e.record is not None]
        events = [e.item for e in batch if isinstance(e.item, NewEvent)]
        attempts = [e.item for e in batch if isinstance(e.item, NewAttempt)]
        others = [
            e.item for e in batch if not isinstance(e.item, NewStroke | NewEvent | NewAttempt)
        ]
        skipped = points = 0
        async with self.sessions() as session, session.begin():
            # an attempt is queued before anything that refers to it: insert attempts first
            if retried and attempts:
                done_ids = await existing_attempts(session, attempts)
                skipped += len(done_ids)
                attempts = [a for a in attempts if a.attempt_id not in done_ids]
            for a in attempts:
                await repo.create_attempt(
                    session, user_id=a.user_id, lesson_id=a.lesson_id,
                    scorer_version=a.scorer_version, session_id=a.session_id,
                    started_at=a.started_at, attempt_id=a.attempt_id,
                )  # fmt: skip
            if retried and strokes:
                done = await existing_stroke_keys(session, strokes)
                skipped += len(strokes)
                strokes = [r for r in strokes if (r[0], r[2]) not in done]
                skipped -= len(strokes)
            if retried and events:
                seen = await existing_events(session, events)
                skipped += len(events)
                events = [e for e in events if event_key(e) not in seen]
                skipped -= len(events)
            points = await repo.append_stroke_records(session, strokes, method=self.stroke_method)
            await repo.append_events(session, events)
            for item in others:
                skipped += not await self._write_other(session, item, retried=retried)
        totals = self.totals
        totals.strokes += len(strokes)
        totals.points += points
        totals.events += len(events)
        totals.attempts += len(attempts)
        totals.finishes += sum(isinstance(i, FinishAttempt) for i in others)
        totals.shared += sum(isinstance(i, SharedResult) for i in others)
        totals.skipped += skipped

    async def _write_other(self, session: AsyncSession, item: WriteItem, *, retried: bool) -> bool:
        """Write one finish or result; False if a retry found it already written."""
        if isinstance(item, FinishAttempt):
            end = repo.abandon_attempt if item.abandoned else repo.finish_attempt
            try:
                await end(
                    session,
                    item.attempt_id,
                    user_id=item.user_id,
                    score=item.score,
                    score_accuracy=item.score_accuracy,
                    score_quality=item.score_quality,
                    finished_at=item.finished_at,
                )
            except repo.InvalidState:
                if not retried:
                    raise
                return False
        elif isinstance(item, SharedResult):
            if retried and await existing_shared(session, item):
                return False
            await repo.record_shared_attempt(
                session,
                session_id=item.session_id,
                step_id=item.step_id,
                aggregated_score=item.aggregated_score,
                participant_scores=item.participant_scores,
                replay_ref=item.replay_ref,
            )
        elif isinstance(item, ParticipantResults):
            await repo.set_participant_results(session, item.session_id, item.scores)
        else:  # pragma: no cover - put() is typed
            raise TypeError(f"cannot write {type(item).__name__}")
        return True

    def _report_depth(self) -> None:
        if self.on_depth is not None:
            try:
                self.on_depth(len(self._queue))
            except Exception:
                log.exception("on_depth callback failed")
