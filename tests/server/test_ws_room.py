"""End to end: a three-player room through every state, reconnect and resume, error codes."""

from __future__ import annotations

import asyncio
import math

import httpx
import numpy as np
from websockets.asyncio.client import connect
from ws_harness import CATALOG, STYLUS, LiveServer, Raw, closed_with, live, open_raw, stroke_rows

from server.codec import encode
from server.protocol import (
    CreateRoom,
    EndRoom,
    Error,
    FinalResults,
    Hello,
    JoinRoom,
    LiveFeedback,
    PeerPoints,
    PeerStrokeEnd,
    Ping,
    Points,
    Pong,
    PresenceUpdate,
    Resume,
    Resumed,
    RoomJoined,
    RoomStarted,
    SharedResult,
    StartAttempt,
    StartRoom,
    StepEnd,
    StepResult,
    StepStarted,
    StrokeBegin,
    StrokeEnd,
    StrokeScored,
)

__all__ = ["live"]  # the fixture, imported to be found

LESSON = "steady-lines"


async def test_ws_room_three_players_every_state(live: LiveServer) -> None:
    tokens = [live.signup(name) for name in ("host", "guest1", "guest2")]
    host, _ = await open_raw(live, tokens[0])
    await host.send(CreateRoom(LESSON))
    joined = await host.expect(RoomJoined)
    assert (joined.role, joined.state) == ("host", "waiting")
    guests = []
    for token in tokens[1:]:
        raw, _ = await open_raw(live, token)
        await raw.send(JoinRoom(joined.code))
        assert (await raw.expect(RoomJoined)).role == "guest"
        guests.append(raw)
    presence = await host.expect(PresenceUpdate)
    while len(presence.participants) < 3:
        presence = await host.expect(PresenceUpdate)
    assert {p.name for p in presence.participants} == {"host", "guest1", "guest2"}

    await guests[0].send(StartRoom(1))  # a guest may not start the room
    assert (await guests[0].expect(Error)).code == "not_allowed"
    await host.send(StartRoom(1))
    players = [host, *guests]
    for raw in players:
        await raw.expect(RoomStarted)
        assert (await raw.expect(StepStarted)).step == 0

    target = CATALOG.lesson(LESSON).steps[0].targets[0]
    rows = stroke_rows(target)
    seqs = {id(host): 2, id(guests[0]): 2, id(guests[1]): 1}
    for raw in players:
        seq = seqs[id(raw)]
        await raw.send(StrokeBegin(seq))
        for i in range(0, len(rows), 8):
            seq += 1
            await raw.send(Points.of(seq, rows[i : i + 8]))
        await raw.send(StrokeEnd(seq + 1))
        await raw.expect(StrokeScored)
        await raw.send(StepEnd(seq + 2))
        assert (await raw.expect(StepResult)).score.passed
        seqs[id(raw)] = seq + 3
    for raw in players:
        shared = await raw.expect(SharedResult)
        assert shared.step == 0
        assert len([s for s in shared.scores if s.score is not None]) == 3
        assert math.isclose(
            shared.aggregate, np.mean([s.score.total for s in shared.scores if s.score])
        )
    # everyone saw the others' points live, byte for byte
    relayed = [p for p in guests[1].seen(PeerPoints) if p.user != 0]
    assert sum(len(p.bin) for p in relayed) == 2 * rows.nbytes
    assert len(guests[1].seen(PeerStrokeEnd)) == 2
    assert not guests[1].seen(LiveFeedback)[0].off_path

    # a guest's socket drops: the others see them away (and the room goes on)
    await guests[1].ws.close()
    presence = await host.expect(PresenceUpdate)
    while {p.name: p.presence for p in presence.participants}["guest2"] != "away":
        presence = await host.expect(PresenceUpdate)
    players = players[:2]

    await host.send(EndRoom(seqs[id(host)]))
    for raw in players:
        final = await raw.expect(FinalResults)
        assert final.reason == "host"
        assert {r.name for r in final.results} == {"host", "guest1", "guest2"}
        assert all(r.steps_passed == 1 for r in final.results)
    for raw in players:
        await raw.ws.close()


async def test_ws_reconnect_mid_stroke_loses_and_doubles_nothing(live: LiveServer) -> None:
    token = live.signup("flaky")
    raw, welcome = await open_raw(live, token)
    await raw.send(StartAttempt(LESSON))
    await raw.expect(StepStarted)
    rows = stroke_rows(CATALOG.lesson(LESSON).steps[0].targets[0], n=64)
    await raw.send(StrokeBegin(1))
    for seq, i in enumerate(range(0, 32, 8), start=2):  # seq 2..5: half the stroke
        await raw.send(Points.of(seq, rows[i : i + 8]))
    await raw.acked(5)
    last_rseq = max(getattr(m, "rseq", 0) for m in raw.inbox)
    # seq 6 is sent but the socket dies before its answer is read
    await raw.send(Points.of(6, rows[32:40]))
    await raw.ws.close()

    again, _ = await open_raw(live, token)
    await again.send(Resume(welcome.resume_token, last_rseq))
    resumed = await again.expect(Resumed)
    assert not resumed.snapshot
    assert resumed.acked_seq in (5, 6)
    seq = 6
    for i in range(32, 64, 8):  # resend from seq 6: a duplicate is applied once
        await again.send(Points.of(seq, rows[i : i + 8]))
        seq += 1
    await again.send(StrokeEnd(seq))
    scored = await again.expect(StrokeScored)
    feedback = again.seen(LiveFeedback)
    assert feedback[-1].points == 64  # every point once: none lost, none doubled
    assert scored.accuracy > 0.9
    await again.ws.close()


async def test_ws_a_late_close_from_a_replaced_socket_does_not_kick_the_new_one(
    live: LiveServer,
) -> None:
    token = live.signup("twice")
    first, _ = await open_raw(live, token)
    second, _ = await open_raw(live, token)
    await first.ws.close()
    await asyncio.sleep(0.2)
    await second.send(Ping(7))
    assert (await second.expect(Pong)).nonce == 7
    await second.ws.close()


async def test_ws_errors_have_codes_and_the_server_survives(live: LiveServer) -> None:
    token = live.signup("hostile")
    raw, _ = await open_raw(live, token)
    await raw.send(Points.of(1, np.zeros((2, 6), np.float32)))
    assert (await raw.expect(Error)).code == "not_in_room"
    await raw.send_bytes(b"\xc1 not msgpack")
    assert (await raw.expect(Error)).code == "bad_frame"
    assert await closed_with(raw) == 4400

    raw, _ = await open_raw(live, token)
    await raw.send_bytes(encode(Ping(1))[:-1] + b"\xff")  # mutated
    assert (await raw.expect(Error)).code in ("bad_frame", "bad_message", "too_large")
    raw, _ = await open_raw(live, token)
    await raw.send(StartAttempt("no-such-lesson"))
    assert (await raw.expect(Error)).code == "no_such_lesson"
    await raw.send(JoinRoom("ZZZZZZ"))
    assert (await raw.expect(Error)).code == "no_such_room"
    await raw.send(StartAttempt(LESSON))
    await raw.expect(StepStarted)
    await raw.send(Points.of(1, np.zeros((2, 6), np.float32)))  # before stroke_begin
    assert (await raw.expect(Error)).code == "bad_state"
    await raw.send(StrokeBegin(2))
    bad = np.zeros((2, 6), np.float32)
    bad[1, 0] = np.nan
    await raw.send(Points.of(3, bad))
    assert (await raw.expect(Error)).code == "non_finite"
    await raw.send(Ping(9))
    assert (await raw.expect(Pong)).nonce == 9  # the connection survived all of it
    await raw.ws.close()

    # hello first, a valid token
    ws = await connect(live.ws_url)
    plain = Raw(ws)
    await plain.send(Ping(1))
    assert (await plain.expect(Error)).code == "hello_first"
    assert await closed_with(plain) == 4401
    ws = await connect(live.ws_url)
    plain = Raw(ws)
    await plain.send(Hello("v1.forged.token", STYLUS))
    assert (await plain.expect(Error)).code == "auth_failed"
    assert await closed_with(plain) == 4403


async def test_ws_room_messages_reach_everyone_in_rseq_order_when_many_join_at_once(
    live: LiveServer,
) -> None:
    """Joins that overlap (each stores its participant row) must not deliver the room's
    messages out of order: a client keeps the newest presence by rseq."""
    host, _ = await open_raw(live, live.signup("order-host"))
    await host.send(CreateRoom(LESSON))
    code = (await host.expect(RoomJoined)).code
    guests = [(await open_raw(live, live.signup(f"order-{i}")))[0] for i in range(6)]
    await asyncio.gather(*(g.send(JoinRoom(code)) for g in guests))
    everyone = [host, *guests]
    for client in everyone:
        rseqs: list[int] = []
        last: PresenceUpdate | None = None
        await asyncio.sleep(0.3)  # every join handled, so nothing more is on its way after pong
        await client.send(Ping(77))
        while not isinstance(message := await client.recv(), Pong):
            rseq = getattr(message, "rseq", None)
            if rseq is not None:
                rseqs.append(rseq)
            if isinstance(message, PresenceUpdate):
                last = message
        assert rseqs == sorted(rseqs) and len(set(rseqs)) == len(rseqs)
        assert last is not None and len(last.participants) == len(everyone)
    for client in everyone:
        await client.ws.close()


async def test_ws_joining_a_room_abandons_the_solo_attempt_in_progress(live: LiveServer) -> None:
    host, _ = await open_raw(live, live.signup("room-host"))
    await host.send(CreateRoom(LESSON))
    code = (await host.expect(RoomJoined)).code
    token = live.signup("mid-practice")
    learner, _ = await open_raw(live, token)
    await learner.send(StartAttempt(LESSON))
    await learner.expect(StepStarted)
    await learner.send(JoinRoom("ZZZZZZ"))  # a wrong code changes nothing
    assert (await learner.expect(Error)).code == "no_such_room"
    await learner.send(JoinRoom(code))
    joined = await learner.expect(RoomJoined)
    assert joined.role == "guest"
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(100):  # the writer stores the abandonment shortly after
        attempts = httpx.get(f"{live.base}/api/me/attempts", headers=headers, timeout=10).json()
        if attempts["attempts"] and attempts["attempts"][0]["status"] != "in_progress":
            break
        await asyncio.sleep(0.1)
    # closed the way a second start_attempt closes it: stored abandoned, progress untouched
    assert [(a["status"], a["finished_at"] is not None) for a in attempts["attempts"]] == [
        ("abandoned", True)
    ]
    progress = httpx.get(f"{live.base}/api/me/progress", headers=headers, timeout=10).json()
    assert progress["progress"] == []
    await learner.ws.close()
    await host.ws.close()
