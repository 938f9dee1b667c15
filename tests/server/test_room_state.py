from __future__ import annotations

from drawing_data import lesson, traced

from scoring import Device
from server.codec import decode
from server.outputs import ROOM, Log, Output, Resend, RoomRecord, Send
from server.protocol import (
    Ack,
    EndRoom,
    Error,
    FinalResults,
    LeaveRoom,
    Message,
    PeerPoints,
    PeerStrokeBegin,
    Points,
    PresenceUpdate,
    Resumed,
    RoomJoined,
    SharedResult,
    Snapshot,
    StartRoom,
    StepEnd,
    StepResult,
    StepStarted,
    StrokeBegin,
    StrokeEnd,
)
from server.protocol_errors import DEFAULT_LIMITS, Limits
from server.room_state import PERMISSIONS, TRANSITIONS, Room, RoomPhase

HOST, GUEST, THIRD, WATCHER = 1, 2, 3, 9


def sent(outputs: list[Output]) -> list[Message]:
    return [o.message for o in outputs if isinstance(o, Send)]


def errors(outputs: list[Output]) -> list[str]:
    return [m.code for m in sent(outputs) if isinstance(m, Error)]


def room(limits: Limits = DEFAULT_LIMITS, step_time_s: float | None = 60.0) -> Room:
    r = Room(5, "ABCD", lesson(), HOST, step_time_s, limits)
    for user, spectator in ((HOST, False), (GUEST, False), (THIRD, False), (WATCHER, True)):
        r.join(user, f"u{user}", Device(), 100 + user, 0.0, spectator)
    return r


def started(limits: Limits = DEFAULT_LIMITS) -> Room:
    r = room(limits)
    r.handle(HOST, StartRoom(1), 1.0)
    return r


def draw(r: Room, user: int, seq: int, step: int = 0) -> list[Output]:
    out: list[Output] = []
    for m in (StrokeBegin(seq), Points.of(seq + 1, traced(r.lesson, step)), StrokeEnd(seq + 2),
              StepEnd(seq + 3)):  # fmt: skip
        out += r.handle(user, m, 2.0)
    return out


def test_room_tables_cover_every_room_message() -> None:
    assert set(PERMISSIONS) == {
        "start_room", "end_room", "leave_room", "stroke_begin", "points", "stroke_end",
        "undo", "retry", "hint", "step_end",
    }  # fmt: skip
    assert TRANSITIONS[(RoomPhase.WAITING, "start_room")] is RoomPhase.ACTIVE
    assert all(after is not RoomPhase.WAITING for after in TRANSITIONS.values())


def test_room_join_gives_roles_and_presence() -> None:
    r = Room(5, "ABCD", lesson(), HOST, None)
    out = r.join(HOST, "ann", Device(), 1, 0.0, False)
    joined = sent(out)[0]
    assert isinstance(joined, RoomJoined) and joined.role == "host" and joined.state == "waiting"
    out = r.join(WATCHER, "sam", Device(), 2, 0.0, True)
    presence = next(m for m in sent(out) if isinstance(m, PresenceUpdate))
    assert [(p.user, p.role) for p in presence.participants] == [(1, "host"), (9, "spectator")]
    assert [o.kind for o in out if isinstance(o, Log)] == ["join"]


def test_room_drawing_before_start_as_spectator_or_outsider_is_refused() -> None:
    r = room()
    assert errors(r.handle(GUEST, StrokeBegin(1), 1.0)) == ["bad_state"]
    assert errors(r.handle(WATCHER, StrokeBegin(1), 1.0)) == ["not_allowed"]
    assert errors(r.handle(GUEST, StartRoom(2), 1.0)) == ["not_allowed"]
    assert errors(r.handle(42, StrokeBegin(1), 1.0)) == ["not_in_room"]
    assert r.phase is RoomPhase.WAITING


def test_room_points_relay_to_others_with_same_bytes_and_feedback_to_drawer() -> None:
    r = started()
    r.handle(GUEST, StrokeBegin(1), 2.0)
    batch = Points.of(2, traced(r.lesson, 0))
    out = r.handle(GUEST, batch, 2.0)
    relay = next(o for o in out if isinstance(o, Send) and isinstance(o.message, PeerPoints))
    assert relay.to == ROOM and relay.exclude == GUEST
    assert relay.message.bin == batch.bin  # type: ignore[attr-defined]
    assert decode(relay.frame, sent_by="server") == relay.message
    feedback = [o for o in out if isinstance(o, Send) and o.to == GUEST]
    assert [type(o.message).__name__ for o in feedback] == ["LiveFeedback"]  # it is the ack
    assert feedback[0].message.seq == 2  # type: ignore[attr-defined]


def test_room_rseq_increases_on_every_room_message() -> None:
    r = started()
    out = draw(r, GUEST, 1)
    rseqs = [m.rseq for m in sent(out) if hasattr(m, "rseq")]
    assert rseqs == sorted(rseqs) and len(set(rseqs)) == len(rseqs)
    assert rseqs[-1] == r.history.rseq


def test_room_step_closes_when_all_players_finish_and_next_starts() -> None:
    r = started()
    draw(r, HOST, 2)
    draw(r, GUEST, 1)
    out = draw(r, THIRD, 1)
    shared = next(m for m in sent(out) if isinstance(m, SharedResult))
    assert shared.step == 0 and [s.user for s in shared.scores] == [HOST, GUEST, THIRD]
    assert all(s.score is not None and s.score.passed for s in shared.scores)
    assert abs(shared.aggregate - sum(s.score.total for s in shared.scores if s.score) / 3) < 1e-12
    assert any(isinstance(m, StepStarted) and m.step == 1 for m in sent(out))
    assert r.step == 1


def test_room_leaving_player_does_not_block() -> None:
    r = started()
    draw(r, HOST, 2)
    draw(r, GUEST, 1)
    out = r.handle(THIRD, LeaveRoom(1), 3.0)
    shared = next(m for m in sent(out) if isinstance(m, SharedResult))
    assert [s.score is None for s in shared.scores] == [False, False, True]
    assert next(o.kind for o in out if isinstance(o, Log)) == "leave"


def test_room_timer_closes_step_with_timed_out_scores() -> None:
    r = started()
    draw(r, HOST, 2)
    assert r.tick(30.0) == []
    assert r.next_deadline() == 61.0
    out = r.tick(61.0)
    results = [m for m in sent(out) if isinstance(m, StepResult)]
    assert sorted(m.score.timed_out for m in results) == [True, True]
    shared = next(m for m in sent(out) if isinstance(m, SharedResult))
    assert shared.scores[0].score is not None and not shared.scores[0].score.timed_out


def test_room_host_ends_with_final_results() -> None:
    r = started()
    draw(r, GUEST, 1)
    out = r.handle(HOST, EndRoom(2), 3.0)
    assert r.phase is RoomPhase.FINISHED
    final = next(m for m in sent(out) if isinstance(m, FinalResults))
    assert final.reason == "host" and [p.user for p in final.results] == [HOST, GUEST, THIRD]
    assert final.results[0].steps == () and final.results[0].total == 0.0
    assert len(final.results[1].steps) == 1 and final.results[1].total > 0.0
    assert any(isinstance(o, RoomRecord) and o.state == "finished" for o in out)
    assert errors(r.handle(GUEST, StrokeBegin(5), 4.0)) == ["bad_state"]


def test_room_whole_lesson_completes() -> None:
    r = started()
    seqs = {HOST: 2, GUEST: 1, THIRD: 1}
    out: list[Output] = []
    for step in range(len(r.lesson.steps)):
        for user, seq in seqs.items():
            out = draw(r, user, seq, step)
            seqs[user] = seq + 4
    final = next(m for m in sent(out) if isinstance(m, FinalResults))
    assert final.reason == "completed" and all(p.steps_passed == 6 for p in final.results)


def test_room_host_leaving_hands_over_and_last_player_empties() -> None:
    r = room()
    r.handle(HOST, LeaveRoom(1), 1.0)
    assert r.host == GUEST and r.members[GUEST].role == "host"
    assert not errors(r.handle(GUEST, StartRoom(1), 1.0))
    r.handle(GUEST, LeaveRoom(2), 2.0)
    out = r.handle(THIRD, LeaveRoom(1), 2.0)
    assert r.phase is RoomPhase.FINISHED
    assert next(m for m in sent(out) if isinstance(m, FinalResults)).reason == "empty"


def test_room_duplicate_batch_applied_once() -> None:
    r = started()
    r.handle(GUEST, StrokeBegin(1), 2.0)
    batch = Points.of(2, traced(r.lesson, 0))
    r.handle(GUEST, batch, 2.0)
    assert sent(r.handle(GUEST, batch, 2.0)) == [Ack(2)]
    rseq = r.history.rseq
    r.handle(GUEST, StrokeEnd(3), 2.0)
    assert r.members[GUEST].drawing is not None
    assert r.history.rseq == rseq + 2  # stroke_score + peer_stroke_end, nothing replayed


def test_room_resume_replays_missed_messages_in_order() -> None:
    r = started()
    seen = r.history.rseq
    r.disconnect(GUEST, 100 + GUEST, 2.0)
    draw(r, HOST, 2)
    out = r.resume(GUEST, 555, seen, 3.0)
    resumed = sent(out)[0]
    assert isinstance(resumed, Resumed) and not resumed.snapshot
    frames = next(o for o in out if isinstance(o, Resend)).frames
    replayed = [decode(f, sent_by="server") for f in frames]
    assert resumed.missed == len(replayed) > 0
    assert isinstance(replayed[0], PresenceUpdate | PeerStrokeBegin)
    rseqs = [getattr(m, "rseq", -1) for m in replayed]
    assert rseqs == sorted(rseqs) and rseqs[0] > seen
    assert not any(isinstance(m, StepResult) for m in replayed)  # the host's own, not GUEST's


def test_room_resume_beyond_history_gets_snapshot() -> None:
    r = started(Limits(history_messages=4))
    draw(r, HOST, 2)
    out = r.resume(GUEST, 555, 0, 3.0)
    assert sent(out)[0] == Resumed(0, True, 0)
    snapshot = sent(out)[1]
    assert isinstance(snapshot, Snapshot) and snapshot.state == "active" and snapshot.step == 0
    assert [p.step_done for p in snapshot.participants][:2] == [True, False]


def test_room_late_close_from_superseded_socket_is_ignored() -> None:
    r = started()
    r.resume(GUEST, 777, r.history.rseq, 2.0)
    assert r.disconnect(GUEST, 100 + GUEST, 3.0) == []
    assert r.members[GUEST].presence == "here"
    assert r.disconnect(GUEST, 777, 3.0) != []
    assert r.members[GUEST].presence == "away"


def test_room_away_past_resume_window_leaves() -> None:
    r = started()
    r.disconnect(THIRD, 100 + THIRD, 2.0)
    assert r.members[THIRD].presence == "away"
    r.tick(61.9)
    assert r.members[THIRD].presence == "away"
    r.tick(62.0)
    assert r.members[THIRD].presence == "left"
    assert errors(r.resume(THIRD, 1, 0, 62.0)) == ["resume_failed"]


def test_room_full_and_finished_refuse_joins() -> None:
    r = room(Limits(max_participants=4))
    assert errors(r.join(50, "x", Device(), 1, 0.0, False)) == ["room_full"]
    r.handle(HOST, EndRoom(1), 1.0)
    assert errors(r.join(GUEST, "x", Device(), 1, 0.0, False)) == ["bad_state"]


def test_room_joining_active_room_makes_a_spectator() -> None:
    r = started()
    out = r.join(60, "late", Device(), 1, 2.0, False)
    joined = sent(out)[0]
    assert (
        isinstance(joined, RoomJoined) and joined.role == "spectator" and joined.state == "active"
    )


def test_room_history_is_bounded_by_bytes() -> None:
    r = started(Limits(history_bytes=2000))
    draw(r, GUEST, 1)
    assert r.history.bytes <= 2000 or len(r.history) == 1
    assert r.history.since(0, GUEST) is None
