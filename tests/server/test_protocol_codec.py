from __future__ import annotations

import contextlib
import math

import msgpack  # type: ignore[import-untyped]
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.codec import decode, decode_frames, encode, encode_batch
from server.protocol import (
    CLIENT_MESSAGES,
    SERVER_MESSAGES,
    Ack,
    DeviceInfo,
    Error,
    FeedbackItem,
    Hello,
    JoinRoom,
    Points,
    Pong,
    Resume,
    SharedResult,
    StepScore,
    StrokeBegin,
)
from server.protocol_errors import ERROR_CODES, Limits, ProtocolError

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
text = st.text(max_size=40)
ints = st.integers(min_value=-(2**31), max_value=2**31)
device = st.builds(DeviceInfo, st.sampled_from(["stylus", "touch", "mouse"]), st.booleans(),
                   st.booleans(), text)  # fmt: skip
rows = st.integers(0, 64).flatmap(
    lambda n: st.lists(st.floats(-1e6, 1e6, width=32), min_size=6 * n, max_size=6 * n)
)
step_score = st.builds(
    StepScore, ints, finite, finite, finite, st.booleans(), ints, st.booleans(),
    st.lists(st.builds(FeedbackItem, text, text, st.none() | ints), max_size=3).map(tuple),
)  # fmt: skip


def raw(**fields: object) -> bytes:
    frame: bytes = msgpack.packb(fields, use_bin_type=True)
    return frame


@given(token=text, dev=device)
def test_codec_round_trips_hello(token: str, dev: DeviceInfo) -> None:
    message = Hello(token, dev)
    assert decode(encode(message)) == message


@given(seq=ints, values=rows)
def test_codec_round_trips_points_with_rows(seq: int, values: list[float]) -> None:
    arr = np.array(values, dtype=np.float32).reshape(-1, 6)
    decoded = decode(encode(Points.of(seq, arr)))
    assert isinstance(decoded, Points) and decoded.seq == seq
    assert decoded.rows is not None and decoded.rows.dtype == np.float32
    np.testing.assert_array_equal(decoded.rows, arr)


@given(scores=st.lists(step_score, max_size=4), aggregate=finite)
def test_codec_round_trips_nested_server_message(scores: list[StepScore], aggregate: float) -> None:
    from server.protocol import ParticipantScore

    message = SharedResult(
        9, 1, 2, aggregate, tuple(ParticipantScore(i, f"p{i}", s) for i, s in enumerate(scores))
    )
    assert decode(encode(message), sent_by="server") == message


def test_codec_accepts_integers_for_floats() -> None:
    frame = raw(type="ack", seq=1)
    assert decode(frame, sent_by="server") == Ack(1)
    frame = raw(type="error", code="bad_state", message="m")
    assert decode(frame, sent_by="server") == Error("bad_state", "m", None)


def test_codec_defaults_optional_fields() -> None:
    assert decode(raw(type="join_room", code="ABCD")) == JoinRoom("ABCD", False)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\xc1", "bad_frame"),  # never used in msgpack
        (b"", "bad_frame"),
        (msgpack.packb([1, 2]), "bad_frame"),
        (msgpack.packb({"type": "hello"}) + b"\x00", "bad_frame"),  # trailing bytes
        (msgpack.packb({"seq": 1}), "bad_message"),
        (raw(type="nope"), "unknown_type"),
        (raw(type="welcome", user=1, name="x", resume_token="t", limits={}), "unknown_type"),
        (raw(type="stroke_begin"), "bad_message"),
        (raw(type="stroke_begin", seq="1"), "bad_message"),
        (raw(type="stroke_begin", seq=True), "bad_message"),
        (raw(type="stroke_begin", seq=1.0), "bad_message"),
        (raw(type="stroke_begin", seq=1, extra=2), "bad_message"),
        (raw(type="resume", resume_token="t", last_rseq=None), "bad_message"),
        (raw(type="create_room", lesson="l", step_time_s=math.nan), "non_finite"),
        (raw(type="create_room", lesson="l", step_time_s=math.inf), "non_finite"),
        (raw(type="hello", token="t", device={"kind": "pen", "pressure": 1, "tilt": 0}),
         "bad_message"),
        (raw(type="points", seq=1, bin=b"\x00" * 25), "bad_points"),
        (raw(type="points", seq=1, bin="text"), "bad_message"),
        (raw(type="points", seq=1, bin=np.full(6, np.nan, np.float32).tobytes()), "non_finite"),
        (raw(type="points", seq=1, bin=np.full(6, np.inf, np.float32).tobytes()), "non_finite"),
        (msgpack.packb({"type": "ping", "nonce": msgpack.ExtType(1, b"x")}), "bad_frame"),
        (msgpack.packb({1: "x"}), "bad_frame"),
    ],
)  # fmt: skip
def test_codec_rejects_bad_frames_with_codes(frame: bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(frame)
    assert caught.value.code == code
    assert caught.value.close == ERROR_CODES[code][0]


def test_codec_rejects_text_frames_and_closes() -> None:
    with pytest.raises(ProtocolError) as caught:
        decode("{}")  # type: ignore[arg-type]
    assert caught.value.code == "bad_frame" and caught.value.close_code == 4400


def test_codec_enforces_size_limits() -> None:
    limits = Limits(max_frame_bytes=100, max_map_len=4, max_str_len=8, max_points_per_batch=2)
    cases = {
        raw(type="start_attempt", lesson="x" * 200): "too_large",
        raw(type="start_attempt", lesson="x" * 20): "too_large",
        raw(type="ping", nonce=1, a=1, b=2, c=3): "too_large",
        encode(Points.of(1, np.zeros((3, 6)))): "too_many_points",
    }
    for frame, code in cases.items():
        with pytest.raises(ProtocolError) as caught:
            decode(frame, limits=limits)
        assert caught.value.code == code, frame
    decoded = decode(encode(Points.of(1, np.zeros((2, 6)))), limits=limits)
    assert isinstance(decoded, Points) and decoded.rows is not None


def test_codec_server_side_ignores_unknown_fields() -> None:
    frame = raw(type="ack", seq=4, added_later="x")
    assert decode(frame, sent_by="server") == Ack(4)
    with pytest.raises(ProtocolError):
        decode(raw(type="stroke_begin", seq=4, added_later="x"))


def test_codec_encodes_type_and_every_wire_field() -> None:
    body = msgpack.unpackb(encode(Points.of(2, np.ones((1, 6)))), raw=False)
    assert set(body) == {"type", "seq", "bin"} and body["type"] == "points"
    assert set(msgpack.unpackb(encode(StrokeBegin(1)), raw=False)) == {"type", "seq"}


def test_protocol_message_types_are_unique_and_registered() -> None:
    assert not set(CLIENT_MESSAGES) & set(SERVER_MESSAGES)
    assert Resume.TYPE in CLIENT_MESSAGES and "error" in SERVER_MESSAGES


def test_protocol_error_refuses_unknown_codes() -> None:
    with pytest.raises(ValueError):
        ProtocolError("made_up", "x")


@settings(max_examples=300)
@given(frame=st.binary(max_size=256))
def test_codec_fuzz_random_bytes_only_raise_protocol_error(frame: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode(frame)


VALID_FRAMES = [
    encode(Hello("tok", DeviceInfo("stylus", True, True, "pen"))),
    encode(Points.of(3, np.ones((4, 6)))),
    encode(JoinRoom("ABCD", True)),
    raw(type="create_room", lesson="steady-lines", step_time_s=30.5),
]


@settings(max_examples=400)
@given(
    which=st.integers(0, len(VALID_FRAMES) - 1),
    edits=st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.integers(0, 4096),
)
def test_codec_fuzz_mutated_frames_only_raise_protocol_error(
    which: int, edits: list[tuple[int, int]], cut: int
) -> None:
    frame = bytearray(VALID_FRAMES[which])
    for at, byte in edits:
        frame[at % len(frame)] = byte
    for candidate in (bytes(frame), bytes(frame[: cut % (len(frame) + 1)])):
        for sent_by in ("client", "server"):
            with contextlib.suppress(ProtocolError):
                decode(candidate, sent_by=sent_by)


def test_batch_frame_holds_encoded_messages_in_order() -> None:
    messages = [Ack(1), Pong(2), Error("bad_state", "m", 3)] * 6  # 18: past msgpack's fixarray
    frame = encode_batch([encode(m) for m in messages])
    assert decode_frames(frame) == messages
    assert decode_frames(encode(Ack(4))) == [Ack(4)]
    assert msgpack.unpackb(frame)["type"] == "batch"


def test_batch_frames_are_checked_like_any_other() -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(encode_batch([encode(Ack(1))]), sent_by="server")  # one message at a time
    assert caught.value.code == "unknown_type"
    nested = encode_batch([encode_batch([encode(Ack(1))])])
    with pytest.raises(ProtocolError) as caught:
        decode_frames(nested)
    assert caught.value.code == "unknown_type"
    for broken in ({"type": "batch", "messages": 3}, {"type": "batch", "messages": [7]}):
        with pytest.raises(ProtocolError) as caught:
            decode_frames(msgpack.packb(broken))
        assert caught.value.code == "bad_message"
    with pytest.raises(ValueError, match=r"1\.\.256"):
        encode_batch([])
