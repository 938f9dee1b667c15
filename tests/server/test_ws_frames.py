"""RFC 6455 framing without a socket: our reader against websockets' own frames, and fuzzed."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.frames import Close, Opcode
from websockets.frames import Frame as WsFrame
from websockets.streams import StreamReader

from server import ws_frames as wf


def client_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    return wf.encode_frame(opcode, payload, key=os.urandom(4), fin=fin)


def websockets_frame(opcode: Opcode, payload: bytes, *, mask: bool, fin: bool = True) -> bytes:
    return WsFrame(opcode, payload, fin).serialize(mask=mask, extensions=[])


def parse_with_websockets(data: bytes, *, mask: bool) -> WsFrame:
    reader = StreamReader()
    reader.feed_data(data)
    parser = WsFrame.parse(reader.read_exact, mask=mask, max_size=None, extensions=[])
    try:
        next(parser)
    except StopIteration as done:
        frame: WsFrame = done.value
        return frame
    raise AssertionError("websockets wanted more bytes")


@given(st.binary(max_size=70_000))
@settings(max_examples=60, deadline=None)
def test_frames_read_the_same_as_websockets_writes_them(payload: bytes) -> None:
    reader = wf.FrameReader(masked=True, max_size=1 << 20)
    data = websockets_frame(Opcode.BINARY, payload, mask=True)
    assert reader.feed(data) == [wf.Frame(wf.OP_BINARY, payload)]
    # and what we write, websockets reads back: the server's unmasked frame, a client's masked
    assert parse_with_websockets(wf.encode_frame(wf.OP_BINARY, payload), mask=False).data == payload
    assert parse_with_websockets(client_frame(wf.OP_BINARY, payload), mask=True).data == payload


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=8), st.data())
@settings(max_examples=80, deadline=None)
def test_any_split_of_the_bytes_gives_the_same_messages(
    payloads: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(client_frame(wf.OP_BINARY, p) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    reader = wf.FrameReader(masked=True, max_size=1 << 16)
    got: list[wf.Frame] = []
    at = 0
    for cut in [*cuts, len(stream)]:
        got += reader.feed(stream[at:cut])
        at = cut
    assert [f.payload for f in got] == payloads


def test_a_fragmented_message_comes_out_whole_with_a_ping_between() -> None:
    reader = wf.FrameReader(masked=True, max_size=1 << 16)
    data = (
        client_frame(wf.OP_BINARY, b"ab", fin=False)
        + client_frame(wf.OP_PING, b"hi")
        + client_frame(wf.OP_CONT, b"cd", fin=False)
        + client_frame(wf.OP_CONT, b"e")
    )
    assert reader.feed(data) == [wf.Frame(wf.OP_PING, b"hi"), wf.Frame(wf.OP_BINARY, b"abcde")]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (wf.encode_frame(wf.OP_BINARY, b"x"), 1002),  # a client frame not masked
        (bytes((0xC2, 0x80)) + b"\0\0\0\0", 1002),  # RSV1 without an extension
        (client_frame(0x3, b""), 1002),  # a reserved opcode
        (client_frame(wf.OP_CONT, b"x"), 1002),  # a continuation with no message
        (client_frame(wf.OP_PING, b"x" * 126), 1002),  # a control frame too long
        (client_frame(wf.OP_PING, b"", fin=False), 1002),  # a fragmented control frame
        (client_frame(wf.OP_BINARY, b"a", fin=False) + client_frame(wf.OP_BINARY, b"b"), 1002),
        (wf.header(wf.OP_BINARY, 1 << 40, masked=True), 1009),  # announced too big: no buffering
        (
            client_frame(wf.OP_BINARY, b"x" * 600, fin=False)
            + client_frame(wf.OP_CONT, b"y" * 600),
            1009,
        ),
    ],
)
def test_breaches_fail_with_their_close_code(data: bytes, code: int) -> None:
    reader = wf.FrameReader(masked=True, max_size=1000)
    with pytest.raises(wf.FrameError) as failed:
        reader.feed(data)
    assert failed.value.code == code


def test_frames_before_a_breach_are_kept_with_the_error() -> None:
    reader = wf.FrameReader(masked=True, max_size=10)
    data = client_frame(wf.OP_BINARY, b"ok") + client_frame(wf.OP_BINARY, b"x" * 11)
    with pytest.raises(wf.FrameError) as failed:
        reader.feed(data)
    assert failed.value.frames == [wf.Frame(wf.OP_BINARY, b"ok")]


def test_a_client_reader_refuses_masked_frames_and_reads_unmasked_ones() -> None:
    reader = wf.FrameReader(masked=False, max_size=100)
    assert reader.feed(wf.encode_frame(wf.OP_BINARY, b"hey")) == [wf.Frame(wf.OP_BINARY, b"hey")]
    with pytest.raises(wf.FrameError):
        reader.feed(client_frame(wf.OP_BINARY, b"hey"))


def test_close_payloads_round_trip_and_bad_ones_are_refused() -> None:
    body = wf.close_payload(4408, "slow " + "é" * 100)
    assert len(body) <= 125
    code, reason = wf.parse_close(body)
    assert code == 4408 and reason.startswith("slow é")
    assert Close.parse(body).code == 4408  # websockets agrees
    assert wf.parse_close(b"") == (1005, "")
    for bad in (b"\x03", (1005).to_bytes(2, "big"), (999).to_bytes(2, "big"), b"\x03\xe8\xff"):
        with pytest.raises(wf.FrameError):
            wf.parse_close(bad)


def test_the_accept_key_is_rfc_6455s_example() -> None:
    assert wf.accept_for("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert wf.valid_key("dGhlIHNhbXBsZSBub25jZQ==")
    assert not wf.valid_key("dGhlIHNhbXBsZQ==") and not wf.valid_key("not base64!")


@given(st.binary(max_size=2000))
@settings(max_examples=300, deadline=None)
def test_garbage_never_raises_anything_but_frame_error(data: bytes) -> None:
    reader = wf.FrameReader(masked=True, max_size=500)
    try:
        for frame in reader.feed(data):
            assert frame.opcode in (wf.OP_BINARY, wf.OP_TEXT, wf.OP_PING, wf.OP_PONG, wf.OP_CLOSE)
    except wf.FrameError as error:
        assert error.code in (1002, 1009)


def test_mask_matches_the_plain_xor() -> None:
    key = bytes((1, 2, 3, 250))
    for size in (0, 3, 4, 5, 200, 1_000):
        payload = os.urandom(size)
        plain = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        assert wf.mask(payload, key) == plain
        assert wf._mask_int(payload, key) == plain
