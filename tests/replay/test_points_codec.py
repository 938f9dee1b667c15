from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from replay.points_codec import FORMAT_VERSION, MAX_POINTS, decode_points, encode_points

RAW_BYTES_PER_POINT = 6 * 4


def _pen_stroke(n: int, *, quantized: bool, seed: int = 3) -> np.ndarray:
    """A pen stroke at 240 Hz: wavy path, hand tremor, pressure and tilt that drift.

    quantized=False: sub-pixel float coordinates (the worst case for a lossless codec);
    quantized=True: what many devices really send, whole pixels, 1 ms clock, 1/1024 pressure.
    """
    rng = np.random.default_rng(seed)
    s = np.linspace(0.0, 2.0 * np.pi, n)
    x = 500 + 300 * np.cos(s) + rng.normal(0, 0.2, n)
    y = 400 + 200 * np.sin(2 * s) + rng.normal(0, 0.2, n)
    t = np.cumsum(rng.normal(1000 / 240, 0.2, n).clip(1.0))
    p = np.clip(0.5 + 0.3 * np.sin(3 * s) + rng.normal(0, 0.002, n), 0, 1)
    if quantized:
        x, y, t, p = np.round(x), np.round(y), np.round(t), np.round(p * 1024) / 1024
    tilt_x, tilt_y = np.round(30 * np.sin(s)), np.round(-20 * np.cos(s))
    return np.column_stack((x, y, t - t[0], p, tilt_x, tilt_y)).astype(np.float32)


@given(
    hnp.arrays(
        np.uint32,
        st.tuples(st.integers(0, 300), st.just(6)),
        elements=st.integers(0, 2**32 - 1),
    )
)
@settings(max_examples=200, deadline=None)
def test_points_round_trip_every_float32_bit_pattern(bits: np.ndarray) -> None:
    points = bits.view(np.float32)  # NaN payloads, infinities, -0.0, subnormals included
    decoded = decode_points(encode_points(points))
    assert decoded.dtype == np.float32 and decoded.shape == points.shape
    assert decoded.flags.c_contiguous
    assert decoded.view(np.uint32).tobytes() == bits.tobytes()


def test_points_round_trip_a_non_contiguous_view() -> None:
    base = _pen_stroke(100, quantized=False)
    view = base[::2]
    assert np.array_equal(decode_points(encode_points(view)), view)


def test_points_blob_layout_is_version_count_zlib() -> None:
    points = _pen_stroke(10, quantized=True)
    blob = encode_points(points)
    version, n = struct.unpack_from("<BI", blob)
    assert (version, n) == (FORMAT_VERSION, 10)
    payload = np.frombuffer(zlib.decompress(blob[5:]), np.uint8)
    assert payload.size == 10 * RAW_BYTES_PER_POINT
    # columnar: the first 40 bytes are x's shuffled bytes; x[0]'s lowest byte comes first
    first = int(points[0, 0].view(np.uint32))
    zigzag = (first << 1) & 0xFFFFFFFF ^ (0xFFFFFFFF if first >> 31 else 0)
    assert payload[0] == zigzag & 0xFF


def test_points_blob_for_2000_points_is_a_few_kib() -> None:
    raw = 2000 * RAW_BYTES_PER_POINT
    device = encode_points(_pen_stroke(2000, quantized=True))
    noisy = encode_points(_pen_stroke(2000, quantized=False))
    assert len(device) <= 6 * 1024  # measured 4.0 KiB
    assert len(noisy) <= 20 * 1024  # measured 17.9 KiB: sub-pixel noise is incompressible
    assert len(noisy) < raw / 2.5


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (np.zeros((4, 6), np.float64), "float32"),
        (np.zeros((4, 5), np.float32), "shape"),
        (np.zeros(6, np.float32), "shape"),
        ([[0.0] * 6], "float32"),
    ],
)
def test_encode_points_refuses_the_wrong_array(points: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_points(points)  # type: ignore[arg-type]


def test_decode_points_refuses_unknown_version_truncation_and_trailing_bytes() -> None:
    blob = encode_points(_pen_stroke(300, quantized=False))
    with pytest.raises(ValueError, match="version 2"):
        decode_points(bytes([2]) + blob[1:])
    with pytest.raises(ValueError, match="too short"):
        decode_points(blob[:3])
    for cut in (5, 6, len(blob) // 2, len(blob) - 1):
        with pytest.raises(ValueError):
            decode_points(blob[:cut])
    with pytest.raises(ValueError):
        decode_points(blob + b"\x00")
    with pytest.raises(ValueError, match="exactly"):
        decode_points(struct.pack("<BI", 1, 301) + blob[5:])
    with pytest.raises(ValueError, match="more than"):
        decode_points(struct.pack("<BI", 1, MAX_POINTS + 1) + blob[5:])


@given(st.binary(max_size=400))
@settings(max_examples=500, deadline=None)
def test_decode_points_fuzz_random_bytes_only_raise_value_error(blob: bytes) -> None:
    try:
        points = decode_points(blob)
    except ValueError:
        return
    assert points.dtype == np.float32 and points.shape[1] == 6


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_decode_points_fuzz_mutated_blobs_only_raise_value_error(data: st.DataObject) -> None:
    blob = bytearray(encode_points(_pen_stroke(40, quantized=True)))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(blob) - 1))
        blob[at] = data.draw(st.integers(0, 255))
    try:
        points = decode_points(bytes(blob))
    except ValueError:
        return
    assert points.shape == (40, 6)
