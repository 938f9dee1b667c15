"""The I/O side of live practice and rooms: connections, attempts and rooms of one process.

Theory of operation: the pure cores (`PracticeAttempt`, `Room`) decide everything and return
outputs; the hub carries them out. `Send` frames go to the recipient's current connection
(a broadcast reuses the one encoded frame for every member), `Resend` replays history on
resume, `Close` closes a connection, and records and logs go to the persistence writer with
the process's small integer ids mapped back to database UUIDs. Rooms and attempts live in
this process; a client that reconnects within the resume window finds them here by its
resume token. A tick every second expires members and attempts left past that window and
closes steps whose timer ran out.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy.exc import IntegrityError

from lessons import Catalog, Lesson
from schema import repository as repo
from scoring import SCORER_VERSION, Device
from server.codec import encode
from server.connection import Connection, FlushClock
from server.http_api import Services
from server.http_sessions import new_join_code
from server.outputs import (
    ROOM,
    AttemptRecord,
    Close,
    Log,
    Output,
    Resend,
    RoomRecord,
    Send,
    StepRecord,
    StrokeRecord,
    direct,
    refusal,
)
from server.practice_state import Phase, PracticeAttempt
from server.protocol import (
    CreateRoom,
    GoingAway,
    JoinRoom,
    Message,
    Ping,
    Pong,
    Resume,
    StartAttempt,
)
from server.protocol_errors import (
    CLOSE_CODES,
    CLOSE_GOING_AWAY,
    DEFAULT_LIMITS,
    Limits,
    ProtocolError,
)
from server.room_state import Room
from server.writer import Writer

log = logging.getLogger(__name__)

SHUTDOWN_CLOSE_S: Final = 2.0  # how long shutdown waits for clients to answer the close
MAX_OPEN_ROOMS_PER_USER: Final = 3
# the messages whose handling asks the database: always in a task
_WAITING: Final = (Resume, StartAttempt, CreateRoom, JoinRoom)
_OPEN_STATES: Final = ("waiting", "active")


@dataclass
class UserState:
    """What a user has going on in this process, kept across reconnects."""

    user: int
    uid: uuid.UUID
    name: str
    role: str
    resume_token: str
    connection: Connection | None = None
    attempt: PracticeAttempt | None = None
    room: Room | None = None
    away_since: float | None = None


@dataclass
class AttemptRow:
    """An attempt's database identity and what the writer needs to finish it."""

    uid: uuid.UUID
    user: uuid.UUID
    steps: list[uuid.UUID]
    stroke_seq: itertools.count[int] = field(default_factory=itertools.count)
    scores: dict[int, tuple[float, float, float]] = field(default_factory=dict)


@dataclass
class RoomRow:
    uid: uuid.UUID
    lesson: Lesson
    lesson_uid: uuid.UUID
    steps: list[uuid.UUID]
    attempts: dict[int, AttemptRow] = field(default_factory=dict)


class Hub:
    def __init__(
        self,
        services: Services,
        writer: Writer,
        catalog: Catalog,
        limits: Limits = DEFAULT_LIMITS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.services = services
        self.writer = writer
        self.catalog = catalog
        self.limits = limits
        self.clock = clock
        self.users: dict[int, UserState] = {}
        self._user_of_uid: dict[uuid.UUID, int] = {}
        self._cids = itertools.count(1)
        self._ids = itertools.count(1)
        self.rooms: dict[int, Room] = {}
        self._room_rows: dict[int, RoomRow] = {}
        self._room_by_code: dict[str, int] = {}
        self._attempt_rows: dict[int, AttemptRow] = {}
        self._lesson_ids: dict[str, tuple[uuid.UUID, list[uuid.UUID]]] = {}
        self.closing = False
        self._flushes: FlushClock | None = None

    @property
    def flushes(self) -> FlushClock:
        """The timed flushes of every connection of this process (made on the loop's first use)."""
        if self._flushes is None:
            self._flushes = FlushClock(asyncio.get_running_loop())
        return self._flushes

    # -- connections ---------------------------------------------------------------------------

    def next_cid(self) -> int:
        return next(self._cids)

    def attach(self, uid: uuid.UUID, name: str, role: str, connection: Connection) -> UserState:
        """A connection said hello: its user's state, created on first sight."""
        user = self._user_of_uid.get(uid)
        if user is None:
            user = self._user_of_uid[uid] = next(self._ids)
        if user not in self.users:
            self.users[user] = UserState(user, uid, name, role, secrets.token_urlsafe(24))
        state = self.users[user]
        if state.connection is not None and state.connection is not connection:
            # A second socket for the same user replaces the first (which may be half-dead).
            state.connection.close(CLOSE_GOING_AWAY)
        state.connection = connection
        state.away_since = None
        self.services.metrics.connections.inc()
        return state

    async def detach(self, connection: Connection) -> None:
        """The socket closed. A late close from a replaced socket changes nothing."""
        self.services.metrics.connections.dec()
        state = self.users.get(connection.user)
        if state is None or state.connection is not connection:
            return
        state.connection = None
        state.away_since = self.clock()
        if state.room is not None:
            room = state.room
            await self._apply(room.disconnect(state.user, connection.cid, self.clock()), room)

    # -- messages ----------------------------------------------------------------------------

    def handle_now(
        self, connection: Connection, message: Message
    ) -> Coroutine[Any, Any, None] | None:
        """Handle a message as far as it goes without waiting: None when it is done, else
        the rest to await (persisting what it recorded, or a message that asks the database,
        such as create_room). Drawing in a room or an attempt is done here, frames queued,
        with no task and no await: that is nearly every message a client sends."""
        state = self.users[connection.user]
        if isinstance(message, _WAITING):
            return self._handle_waiting(state, connection, message)
        room = state.room
        outputs: list[Output]
        try:
            if isinstance(message, Ping):
                outputs, room = [direct(state.user, Pong(message.nonce))], None
            elif room is not None and hasattr(message, "seq"):
                outputs = room.handle(state.user, message, self.clock())
            elif state.attempt is not None and hasattr(message, "seq"):
                outputs, room = state.attempt.handle(message, self.clock()), None
            elif hasattr(message, "seq"):
                raise ProtocolError("not_in_room", f"{message.TYPE}: no attempt or room open")
            else:
                raise ProtocolError("bad_state", f"{message.TYPE}: not now")
        except ProtocolError as error:
            outputs, room = refusal(state.user, error, getattr(message, "seq", None)), None
        records = self._deliver(outputs, room)
        return self._persist_now(records, room) if records else None

    async def _handle_waiting(
        self, state: UserState, connection: Connection, message: Message
    ) -> None:
        now = self.clock()
        try:
            if isinstance(message, Resume):
                await self._resume(state, connection, message, now)
            elif isinstance(message, StartAttempt):
                await self._start_attempt(state, message, now)
            elif isinstance(message, CreateRoom):
                await self._create_room(state, message, now)
            elif isinstance(message, JoinRoom):
                await self._join_room(state, connection, message, now)
        except ProtocolError as error:
            await self._apply(refusal(state.user, error, getattr(message, "seq", None)), None)

    async def _resume(
        self, state: UserState, connection: Connection, message: Resume, now: float
    ) -> None:
        # A resume token is this user's own (a socket is one user's): compare, don't look up.
        if not secrets.compare_digest(message.resume_token, state.resume_token):
            raise ProtocolError("resume_failed", "unknown resume token")
        if state.room is not None:
            await self._apply(
                state.room.resume(state.user, connection.cid, message.last_rseq, now), state.room
            )
        elif state.attempt is not None:
            await self._apply(state.attempt.resume(message.last_rseq), None)
        else:
            raise ProtocolError("resume_failed", "nothing to resume")

    async def _lesson(
        self, state: UserState, slug: str
    ) -> tuple[Lesson, uuid.UUID, list[uuid.UUID]]:
        try:
            lesson = self.catalog.lesson(slug)
        except KeyError:
            raise ProtocolError("no_such_lesson", f"no lesson {slug!r}") from None
        async with self.services.sessions() as db:
            vip = not lesson.is_free and state.role == "player"
            if vip and not await repo.has_active_subscription(db, state.uid):
                raise ProtocolError("no_such_lesson", f"{slug!r} needs a subscription")
            if slug not in self._lesson_ids:
                row = await repo.lesson_with_steps(db, slug)
                if row is None:
                    raise ProtocolError("no_such_lesson", f"no lesson {slug!r}")
                steps = [s.id for s in sorted(row.steps, key=lambda s: s.order)]
                self._lesson_ids[slug] = (row.id, steps)
        lesson_uid, steps = self._lesson_ids[slug]
        return lesson, lesson_uid, steps

    async def _new_attempt(
        self, state: UserState, lesson_uid: uuid.UUID, room: uuid.UUID | None = None
    ) -> uuid.UUID:
        # The writer inserts the row, ahead of the strokes that refer to it: a new attempt
        # never waits for the database (nor fails when SQLite is busy with a batch).
        return await self.writer.start_attempt(
            user_id=state.uid, lesson_id=lesson_uid, scorer_version=SCORER_VERSION,
            session_id=room,
        )  # fmt: skip

    async def _start_attempt(self, state: UserState, message: StartAttempt, now: float) -> None:
        if state.room is not None:
            raise ProtocolError("bad_state", "start_attempt: leave the room first")
        lesson, lesson_uid, steps = await self._lesson(state, message.lesson)
        if state.attempt is not None:
            await self._apply(state.attempt.abandon(now), None)
        attempt_uid = await self._new_attempt(state, lesson_uid)
        number = next(self._ids)
        self._attempt_rows[number] = AttemptRow(attempt_uid, state.uid, steps)
        device = state.connection.device if state.connection else Device()
        state.attempt = PracticeAttempt(number, state.user, lesson, device, now, self.limits)
        await self._apply(state.attempt.start(now), None)

    async def _create_room(self, state: UserState, message: CreateRoom, now: float) -> None:
        if state.room is not None:
            raise ProtocolError("bad_state", "create_room: leave your room first")
        hosted = sum(1 for r in self.rooms.values() if r.host == state.user)
        if hosted >= MAX_OPEN_ROOMS_PER_USER:
            raise ProtocolError("too_many_rooms", f"you host {hosted} open rooms already")
        lesson, lesson_uid, steps = await self._lesson(state, message.lesson)
        for _ in range(8):
            code = new_join_code()
            try:
                async with self.services.sessions.begin() as db:
                    row = await repo.create_session(
                        db, lesson_id=lesson_uid, created_by=state.uid, join_code=code
                    )
                    session_uid = row.id
                break
            except IntegrityError:
                continue  # the code is taken by an open session: draw another
        else:
            raise ProtocolError("internal", "no free join code: try again")
        room = self._open_room(
            session_uid, code, lesson, lesson_uid, steps, state.user, message.step_time_s
        )
        await self._leave_attempt(state, now)
        await self._enter(state, room, spectator=False, now=now)

    async def _leave_attempt(self, state: UserState, now: float) -> None:
        """Going into a room ends the solo attempt in progress (abandoned), as starting
        another attempt does."""
        if state.attempt is not None and not _finished(state.attempt):
            await self._apply(state.attempt.abandon(now), None)
        state.attempt = None

    def _open_room(
        self, session_uid: uuid.UUID, code: str, lesson: Lesson, lesson_uid: uuid.UUID,
        steps: list[uuid.UUID], host: int, step_time_s: float | None,
    ) -> Room:  # fmt: skip
        number = next(self._ids)
        room = Room(number, code, lesson, host, step_time_s, self.limits)
        self.rooms[number] = room
        self._room_rows[number] = RoomRow(session_uid, lesson, lesson_uid, steps)
        self._room_by_code[code] = number
        self.services.metrics.rooms.set(len(self.rooms))
        return room

    async def _join_room(
        self, state: UserState, connection: Connection, message: JoinRoom, now: float
    ) -> None:
        if state.room is not None:
            raise ProtocolError("bad_state", "join_room: leave your room first")
        number = self._room_by_code.get(message.code.upper())
        room = self.rooms.get(number) if number is not None else None
        if room is None:
            room = await self._room_from_database(message.code.upper())
        await self._leave_attempt(state, now)
        await self._enter(state, room, spectator=message.spectator, now=now)

    async def _room_from_database(self, code: str) -> Room:
        """A session created over HTTP becomes a live room when its first member joins."""
        async with self.services.sessions() as db:
            row = await repo.open_session_by_code(db, code)
            if row is None:
                raise ProtocolError("no_such_room", f"no open room {code!r}")
            lesson_row = await repo.lesson_with_steps(db, row.lesson_id, published_only=False)
        if lesson_row is None:
            raise ProtocolError("no_such_room", f"room {code!r} has no lesson")
        creator = row.created_by
        if creator is None:
            raise ProtocolError("no_such_room", f"room {code!r} has no host")
        host = self._user_of_uid.get(creator)
        if host is None:
            host = self._user_of_uid[creator] = next(self._ids)
        lesson = self.catalog.lesson(lesson_row.slug)
        steps = [s.id for s in sorted(lesson_row.steps, key=lambda s: s.order)]
        return self._open_room(row.id, code, lesson, lesson_row.id, steps, host, None)

    async def _enter(self, state: UserState, room: Room, *, spectator: bool, now: float) -> None:
        cid = state.connection.cid if state.connection else 0
        device = state.connection.device if state.connection else Device()
        out = room.join(state.user, state.name, device, cid, now, spectator)
        member = room.members.get(state.user)
        if member is not None:
            state.room = room  # before any await: a drop meanwhile must reach the room
        # the room's messages before the participant row: an await between numbering them
        # (join) and sending them would let another member's messages, numbered later,
        # overtake them
        await self._apply(out, room)
        if member is not None:
            row = self._room_rows[room.room]
            await self._persist_membership(row.uid, state.uid, member.role)

    async def _persist_membership(self, session_uid: uuid.UUID, user: uuid.UUID, role: str) -> None:
        try:
            async with self.services.sessions.begin() as db:
                await repo.join_session(db, session_uid, user_id=user, role=role)
        except (repo.StorageError, IntegrityError) as exc:
            log.warning("participant row for %s in %s: %s", user, session_uid, exc)

    # -- outputs -------------------------------------------------------------------------------

    def _send(self, user: int, output: Send) -> None:
        state = self.users.get(user)
        if state is not None and state.connection is not None:
            state.connection.send(output.frame)
            self.services.metrics.messages_out.inc(labels=(output.message.TYPE,))

    async def _apply(self, outputs: Iterable[Output], room: Room | None) -> None:
        """Carry out a core's outputs; `room` is where a ROOM broadcast goes (None: an attempt).
        No default: every caller states it, so a room's outputs cannot lose their room."""
        records = self._deliver(outputs, room)
        if records:
            await self._persist_all(records, room)

    def _deliver(self, outputs: Iterable[Output], room: Room | None) -> list[Output]:
        """Queue every frame, close what is to be closed; the records left to persist.

        Every frame is queued before anything is persisted: queueing never waits, while the
        writer may (backpressure), and a wait there would let messages another member's
        handler numbers later reach the clients first, out of rseq order."""
        records: list[Output] = []
        for out in outputs:
            if isinstance(out, Send):
                if out.to == ROOM:
                    self._broadcast(room, out)
                else:
                    self._send(out.to, out)
            elif isinstance(out, Resend):
                state = self.users.get(out.to)
                if state is not None and state.connection is not None:
                    for frame in out.frames:
                        state.connection.send(frame)
            elif isinstance(out, Close):
                state = self.users.get(out.to)
                if state is not None and state.connection is not None:
                    state.connection.close(CLOSE_CODES.get(out.code, 1008))
            else:
                records.append(out)
        return records

    def _persist_now(
        self, records: list[Output], room: Room | None
    ) -> Coroutine[Any, Any, None] | None:
        """Queue what can be queued without awaiting: a stroke of an attempt whose row is open,
        while the writer has room (nearly every stroke). From the first record that cannot,
        the rest, in order, is left to the coroutine returned (None: all done)."""
        for i, out in enumerate(records):
            if not isinstance(out, StrokeRecord):
                return self._persist_all(records[i:], room)
            row = self._open_attempt_row(out.user, out.attempt, room)
            if row is None:
                return self._persist_all(records[i:], room)
            item = self._stroke_item(out, row)
            if not self.writer.put_nowait(item):
                return self._persist_after(item, records[i + 1 :], room)
        return None

    async def _persist_after(
        self, item: repo.NewStroke, records: list[Output], room: Room | None
    ) -> None:
        await self.writer.add_stroke(item)
        await self._persist_all(records, room)

    async def _persist_all(self, records: list[Output], room: Room | None) -> None:
        for record in records:
            await self._persist(record, room)

    def _stroke_item(self, out: StrokeRecord, row: AttemptRow) -> repo.NewStroke:
        self.services.metrics.points_scored.inc(len(out.rows))
        return repo.NewStroke(row.uid, row.steps[out.step], next(row.stroke_seq), out.rows)

    def _broadcast(self, room: Room | None, out: Send) -> None:
        if room is None:  # a bug in the hub, not the client's doing: loud, but not fatal
            log.error("a room broadcast without a room: %s", out.message.TYPE)
            return
        sent = 0
        for member in room.members.values():
            if member.user == out.exclude or member.presence != "here":
                continue
            state = self.users.get(member.user)
            if state is not None and state.connection is not None:
                state.connection.send(out.frame)  # the same bytes for everyone
                sent += 1
        self.services.metrics.messages_out.inc(sent, labels=(out.message.TYPE,))

    async def _persist(self, out: Output, room: Room | None) -> None:
        if isinstance(out, StrokeRecord):
            row = await self._attempt_row(out.user, out.attempt, room)
            await self.writer.add_stroke(self._stroke_item(out, row))
        elif isinstance(out, StepRecord):
            row = await self._attempt_row(out.user, out.attempt, room)
            r = out.result
            row.scores[out.step] = (r.total, r.accuracy, r.quality)
            payload = {
                "total": r.total, "accuracy": r.accuracy, "quality": r.quality,
                "passed": r.passed, "timed_out": out.timed_out, "codes": list(r.codes),
                "strokes": [s.total for s in r.strokes],
            }  # fmt: skip
            await self.writer.add_event(
                repo.NewEvent(
                    "finish_step", user_id=row.user, attempt_id=row.uid,
                    step_id=row.steps[out.step], session_id=self._session_uid(room),
                    payload=payload,
                )
            )  # fmt: skip
        elif isinstance(out, AttemptRecord):
            row = self._attempt_rows.pop(out.attempt)
            await self._finish(row, out.total, abandoned=out.abandoned)
            if out.abandoned:
                await self.writer.add_event(
                    repo.NewEvent("abandon_attempt", user_id=row.user, attempt_id=row.uid)
                )
        elif isinstance(out, Log):
            await self._log(out, room)
        elif isinstance(out, RoomRecord):
            await self._room_record(out, room)

    async def _finish(self, row: AttemptRow, total: float, *, abandoned: bool = False) -> None:
        scores = list(row.scores.values()) or [(0.0, 0.0, 0.0)]
        await self.writer.finish_attempt(
            row.uid, user_id=row.user, score=min(max(total, 0.0), 1.0),
            score_accuracy=sum(s[1] for s in scores) / len(scores),
            score_quality=sum(s[2] for s in scores) / len(scores), abandoned=abandoned,
        )  # fmt: skip

    def _open_attempt_row(
        self, user: int, attempt: int | None, room: Room | None
    ) -> AttemptRow | None:
        """The attempt row a record goes to; None for a room member's first record, whose
        attempt `_attempt_row` opens."""
        if attempt is not None:
            return self._attempt_rows[attempt]
        assert room is not None
        return self._room_rows[room.room].attempts.get(user)

    async def _attempt_row(self, user: int, attempt: int | None, room: Room | None) -> AttemptRow:
        row = self._open_attempt_row(user, attempt, room)
        if row is None:
            assert room is not None
            rrow = self._room_rows[room.room]
            state = self.users[user]
            uid = await self._new_attempt(state, rrow.lesson_uid, rrow.uid)
            row = rrow.attempts[user] = AttemptRow(uid, state.uid, rrow.steps)
        return row

    def _session_uid(self, room: Room | None) -> uuid.UUID | None:
        return self._room_rows[room.room].uid if room is not None else None

    async def _log(self, out: Log, room: Room | None) -> None:
        state = self.users.get(out.user)
        step_uid = attempt_uid = None
        if out.attempt is not None and out.attempt in self._attempt_rows:
            arow = self._attempt_rows[out.attempt]
            attempt_uid = arow.uid
            step_uid = arow.steps[out.step] if out.step is not None else None
        elif room is not None and out.step is not None:
            step_uid = self._room_rows[room.room].steps[out.step]
        await self.writer.add_event(
            repo.NewEvent(
                out.kind, user_id=state.uid if state else None, attempt_id=attempt_uid,
                step_id=step_uid, session_id=self._session_uid(room), payload=out.data,
            )
        )  # fmt: skip

    async def _room_record(self, out: RoomRecord, room: Room | None) -> None:
        assert room is not None
        rrow = self._room_rows[room.room]
        try:
            async with self.services.sessions.begin() as db:
                await repo.set_session_state(db, rrow.uid, out.state)
        except repo.StorageError as exc:
            log.warning("session %s to %s: %s", rrow.uid, out.state, exc)
        if out.state != "finished":
            return
        for step, aggregate in out.shared:
            scores = {
                row.user: row.scores[step][0]
                for row in rrow.attempts.values()
                if step in row.scores
            }
            await self.writer.record_shared_attempt(
                session_id=rrow.uid, step_id=rrow.steps[step],
                aggregated_score=aggregate if aggregate is not None else 0.0,
                participant_scores=scores, replay_ref=f"{rrow.uid}/{step}",
            )  # fmt: skip
        for row in rrow.attempts.values():
            total = sum(s[0] for s in row.scores.values()) / max(len(rrow.steps), 1)
            await self._finish(row, total)
        self._close_room(room)

    def _close_room(self, room: Room) -> None:
        self.rooms.pop(room.room, None)
        self._room_rows.pop(room.room, None)
        self._room_by_code.pop(room.code, None)
        for state in self.users.values():
            if state.room is room:
                state.room = None
        self.services.metrics.rooms.set(len(self.rooms))

    # -- time and shutdown ----------------------------------------------------------------------

    async def tick(self) -> None:
        now = self.clock()
        for room in list(self.rooms.values()):
            await self._apply(room.tick(now), room)
            for user in [u for u, m in room.members.items() if m.presence == "left"]:
                state = self.users.get(user)
                if state is not None and state.room is room:
                    state.room = None
        window = self.limits.resume_window_s
        for state in self.users.values():
            gone = state.away_since is not None and now - state.away_since >= window
            if gone and state.attempt is not None:
                await self._apply(state.attempt.abandon(now), None)
                state.attempt = None

    async def shutdown(self) -> None:
        """Tell every client to reconnect elsewhere and close its socket (1001)."""
        self.closing = True
        notice = encode(GoingAway("server shutting down", reconnect=True, retry_after_s=1.0))
        for state in self.users.values():
            if state.connection is not None:
                state.connection.send(notice)
                state.connection.close(CLOSE_GOING_AWAY)
        # one deadline for all of them: a thousand clients that never answer the close cost
        # SHUTDOWN_CLOSE_S once, not a thousand times
        waits = [s.connection.wait_closed(SHUTDOWN_CLOSE_S) for s in self.users.values()
                 if s.connection is not None]  # fmt: skip
        await asyncio.gather(*waits)


def _finished(attempt: PracticeAttempt) -> bool:
    return attempt.phase is Phase.FINISHED
