"""Write clients/web/test/vectors.json: msgpack vectors from the real `msgpack` package.

Both codecs are checked against this one file: the web client's (`node --test` in this folder)
byte for byte, and Python's (tests/web/test_codec_vectors.py regenerates it and compares).
Values are tagged so JSON keeps what msgpack distinguishes: ["int", "123"] (text: 64-bit
integers do not fit a JSON number), ["f64", 1.0], ["f32", 0.5], ["str", ...], ["bin", hex],
["arr", [...]], ["map", [[key, value], ...]], ["bool", true], ["nil"].

    python3 clients/web/test/make_vectors.py          # rewrite the file
    python3 clients/web/test/make_vectors.py --check  # exit 1 if the file is out of date
"""

from __future__ import annotations

import json
import math
import struct
import sys
from pathlib import Path
from typing import Any

import msgpack

HERE = Path(__file__).resolve().parent
VECTORS = HERE / "vectors.json"


class F32(float):
    """A float that msgpack should pack as float32."""


def tag(value: Any) -> list[Any]:  # noqa: PLR0911 - one return per msgpack family
    if value is None:
        return ["nil"]
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, F32):  # the value as float32 holds it
        return ["f32", _json_float(struct.unpack(">f", struct.pack(">f", value))[0])]
    if isinstance(value, float):
        return ["f64", _json_float(value)]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, bytes):
        return ["bin", value.hex()]
    if isinstance(value, list):
        return ["arr", [tag(v) for v in value]]
    if isinstance(value, dict):
        return ["map", [[tag(k), tag(v)] for k, v in value.items()]]
    raise TypeError(type(value))


def _json_float(value: float) -> float | str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def pack(value: Any) -> bytes:
    if isinstance(value, F32):
        return b"\xca" + struct.pack(">f", value)
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def points_bin(rows: list[list[float]]) -> bytes:
    return struct.pack(f"<{6 * len(rows)}f", *(v for row in rows for v in row))


def valid_values() -> list[tuple[str, Any, bool]]:
    """(name, value, the JS encoder must produce these bytes too)."""
    ints = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**53 - 1, 2**53 + 1]
    ints += [2**64 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1]
    ints += [-(2**53) + 1, -(2**63)]
    out: list[tuple[str, Any, bool]] = [(f"int {i}", i, True) for i in ints]
    out += [("nil", None, True), ("false", False, True), ("true", True, True)]
    floats = [0.5, -1.25, 1.0, 0.1, 1e300, -2.5e-308, 3.141592653589793]
    out += [(f"float64 {f!r}", f, True) for f in floats]
    # Python packs floats as float64; float32 arrives from other peers: decode only
    out += [(f"float32 {f!r}", F32(f), False) for f in (0.5, -2.0, 1.5e10)]
    out += [(f"float64 {f}", f, False) for f in (math.inf, -math.inf, math.nan)]
    for n in (0, 5, 31, 32, 255, 256, 1000):
        out.append((f"str of {n}", "a" * n, True))
    out += [("str utf-8", "Zo\u00eb \u270d \u63cf\u304f \U0001f58b", True)]
    for n in (0, 1, 255, 256):
        out.append((f"bin of {n}", bytes(i % 251 for i in range(n)), True))
    for n in (0, 15, 16, 300):
        out.append((f"array of {n}", list(range(n)), True))
    out += [("map of 0", {}, True)]
    out.append(("map of 15", {f"k{i}": i for i in range(15)}, True))
    out.append(("map of 16", {f"k{i}": i for i in range(16)}, True))
    out.append(("nested", {"a": [1, [2, {"b": None}]], "c": {"d": [True, -0.5]}}, True))
    out.append(
        (
            "points message",
            {"type": "points", "seq": 7, "bin": points_bin([[100, 300, 0, 0.6, 20, -5]] * 3)},
            True,
        )
    )
    out.append(
        (
            "hello message",
            {
                "type": "hello",
                "token": "v1.abc.def",
                "device": {"kind": "stylus", "pressure": True, "tilt": True, "model": "pen"},
            },
            True,
        )
    )
    out.append(
        (
            "feedback message",
            {"type": "feedback", "seq": 3, "stroke": 0, "target": 0, "progress": 0.25,
             "deviation": 2.5, "off_path": False, "points": 30},
            True,
        )
    )  # fmt: skip
    return out


def invalid_frames() -> list[tuple[str, bytes]]:
    """Bytes both decoders refuse (the web client as the server does)."""
    good = pack({"type": "ping", "nonce": 1})
    return [
        ("empty", b""),
        ("trailing byte", good + b"\x00"),
        ("two values", good + good),
        ("truncated map", good[:-1]),
        ("truncated str", b"\xa5abc"),
        ("truncated bin", b"\xc4\x05ab"),
        ("truncated float64", b"\xcb\x00\x00"),
        ("fixext 1", b"\xd4\x01\x00"),
        ("ext 8", b"\xc7\x01\x05\x00"),
        ("timestamp ext", b"\xd6\xff\x00\x00\x00\x01"),
        ("never used 0xc1", b"\xc1"),
        ("array count past the end", b"\xdd\xff\xff\xff\xff"),
        ("invalid utf-8", b"\xa2\xff\xfe"),
    ]


def wide_forms() -> list[tuple[str, bytes, Any]]:
    """32-bit length headers on short content: msgpack never writes them for these values,
    but must read them (the JS test checks its encoder's 32-bit headers on big values)."""
    return [
        ("str32 abc", b"\xdb\x00\x00\x00\x03abc", "abc"),
        ("bin32 of 2", b"\xc6\x00\x00\x00\x02\x01\x02", b"\x01\x02"),
        ("array32 of 2", b"\xdd\x00\x00\x00\x02\x01\x02", [1, 2]),
        ("map32 of 1", b"\xdf\x00\x00\x00\x01\xa1a\x01", {"a": 1}),
        ("str8 abc", b"\xd9\x03abc", "abc"),
        ("uint64 5", b"\xcf" + (5).to_bytes(8, "big"), 5),
        ("int8 5", b"\xd0\x05", 5),
    ]


def build() -> dict[str, Any]:
    valid = [
        {"name": name, "hex": pack(value).hex(), "value": tag(value), "encode": encode}
        for name, value, encode in valid_values()
    ]
    for name, frame, value in wide_forms():
        assert msgpack.unpackb(frame, raw=False) == value, name
        valid.append({"name": name, "hex": frame.hex(), "value": tag(value), "encode": False})
    invalid = [{"name": name, "hex": frame.hex()} for name, frame in invalid_frames()]
    return {
        "generator": "clients/web/test/make_vectors.py",
        "msgpack": "python msgpack, packb(value, use_bin_type=True)",
        "valid": valid,
        "invalid": invalid,
    }


def render() -> str:
    return json.dumps(build(), indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = VECTORS.read_text(encoding="utf-8") if VECTORS.exists() else ""
        if current != text:
            print(f"{VECTORS.name} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    VECTORS.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
