"""The wire codec: msgpack frames to `server.protocol` messages and back, strictly checked.

`decode` trusts nothing: msgpack's own limits bound the frame, every string, list and map
before anything is built; no ext types; then each field is checked against the message's type
hints (compiled once, at import, into one checker per field). Any failure is a
`ProtocolError`, never another exception: the fuzz tests hold it to that. A point batch is
checked and viewed with a single `numpy.frombuffer`, never point by point.

`encode` builds the frame once; the I/O layer sends the same bytes to every recipient.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import sys
import threading
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal

import msgpack  # type: ignore[import-untyped]
import numpy as np

from server.protocol import (
    CLIENT_MESSAGES,
    POINT_COLUMNS,
    POINT_DTYPE,
    POINT_ROW_BYTES,
    SERVER_MESSAGES,
    Message,
)
from server.protocol_errors import DEFAULT_LIMITS, Limits, ProtocolError

Checker = Callable[[Any, str], Any]
Sender = Literal["client", "server"]


# -- checkers, compiled from type hints ------------------------------------------------------


def _bad(path: str, expected: str, value: Any) -> ProtocolError:
    return ProtocolError("bad_message", f"{path}: expected {expected}, got {type(value).__name__}")


def _check_str(value: Any, path: str) -> str:
    if type(value) is not str:
        raise _bad(path, "a string", value)
    return value


def _check_bool(value: Any, path: str) -> bool:
    if type(value) is not bool:
        raise _bad(path, "a boolean", value)
    return value


def _check_int(value: Any, path: str) -> int:
    if type(value) is not int:
        raise _bad(path, "an integer", value)
    return value


def _check_float(value: Any, path: str) -> float:
    # msgpack writers often send 1.0 as the integer 1: accept integers where floats go.
    if type(value) is int:
        return float(value)
    if type(value) is not float:
        raise _bad(path, "a number", value)
    if not math.isfinite(value):
        raise ProtocolError("non_finite", f"{path}: {value} is not a finite number")
    return value


def _check_bytes(value: Any, path: str) -> bytes:
    if type(value) is not bytes:
        raise _bad(path, "binary (msgpack bin)", value)
    return value


def _literal(options: tuple[Any, ...]) -> Checker:
    def check(value: Any, path: str) -> Any:
        if type(value) is not str or value not in options:
            raise ProtocolError("bad_message", f"{path}: expected one of {list(options)}")
        return value

    return check


def _optional(inner: Checker) -> Checker:
    def check(value: Any, path: str) -> Any:
        return None if value is None else inner(value, path)

    return check


def _sequence(inner: Checker) -> Checker:
    def check(value: Any, path: str) -> tuple[Any, ...]:
        if type(value) is not list:
            raise _bad(path, "an array", value)
        return tuple(inner(item, f"{path}[{i}]") for i, item in enumerate(value))

    return check


def _mapping(inner: Checker) -> Checker:
    def check(value: Any, path: str) -> dict[str, Any]:
        if type(value) is not dict:
            raise _bad(path, "a map", value)
        out: dict[str, Any] = {}
        for key, item in value.items():
            out[_check_str(key, f"{path} key")] = inner(item, f"{path}.{key}")
        return out

    return check


_SCALARS: Final[dict[Any, Checker]] = {
    str: _check_str,
    bool: _check_bool,
    int: _check_int,
    float: _check_float,
    bytes: _check_bytes,
}


def _checker(hint: Any) -> Checker:
    if hint in _SCALARS:
        return _SCALARS[hint]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return _literal(args)
    if origin in (types.UnionType, typing.Union) and len(args) == 2 and type(None) in args:
        return _optional(_checker(next(a for a in args if a is not type(None))))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _sequence(_checker(args[0]))
    if origin is dict and args[0] is str:
        return _mapping(_checker(args[1]))
    if dataclasses.is_dataclass(hint):
        return _Struct(hint).check
    raise TypeError(f"no wire checker for {hint!r}")


def _is_scalar(hint: Any) -> bool:
    """A field msgpack packs as it is (no dataclass, tuple or dict inside to convert)."""
    if hint in _SCALARS:
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return True
    if origin in (types.UnionType, typing.Union):
        return all(a is type(None) or _is_scalar(a) for a in args)
    return False


class _Struct:
    """The checker for one dataclass: each wire field's checker, which fields may be absent."""

    def __init__(self, cls: Any) -> None:
        hints = typing.get_type_hints(cls)
        self.cls = cls
        self.fields: list[tuple[str, Checker, bool]] = []
        self.encoded: list[tuple[str, bool]] = []  # wire fields, and whether each is a scalar
        self.points_field: str | None = None
        for f in dataclasses.fields(cls):
            if f.metadata.get("wire", True) is False:
                continue
            optional = (
                f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            )
            self.fields.append((f.name, _checker(hints[f.name]), optional))
            self.encoded.append((f.name, _is_scalar(hints[f.name])))
            if f.metadata.get("points"):
                self.points_field = f.name
        self.names = frozenset(name for name, _, _ in self.fields)
        self.allowed = self.names | {"type"}
        self._paths: dict[str, tuple[str, ...]] = {}
        # A message of required str/int/bytes/bool fields only (most client messages, the
        # point batch among them) is checked by one type test per field; any doubt, and
        # the general path below finds the error and words it.
        plain = all(
            hints[name] in (str, int, bytes, bool) and not optional
            for name, _, optional in self.fields
        )
        self.plain: tuple[tuple[str, type], ...] | None = (
            tuple((name, hints[name]) for name, _, _ in self.fields) if plain else None
        )
        self.plain_size = len(self.fields) + 1  # and its type

    def check(
        self, value: Any, path: str, strict: bool = True, limits: Limits | None = None
    ) -> Any:
        if type(value) is not dict:
            raise _bad(path, "a map", value)
        plain = self.plain
        if plain is not None and len(value) == self.plain_size:
            try:
                given = {name: value[name] for name, kind in plain if type(value[name]) is kind}
            except KeyError:  # an unknown field instead of a known one
                given = {}
            if len(given) == len(plain):
                if self.points_field is not None:
                    given["rows"] = point_rows(given[self.points_field], limits or DEFAULT_LIMITS)
                return self.cls(**given)
        if strict and not value.keys() <= self.allowed:
            unknown = [k for k in value if k not in self.allowed]
            raise ProtocolError("bad_message", f"{path}: unknown field {str(unknown[0])!r}")
        paths = self._paths.get(path)
        if paths is None:  # each field's path for messages, built once per place in a message
            paths = tuple(f"{path}.{name}" for name, _, _ in self.fields)
            if len(self._paths) < 64:
                self._paths[path] = paths
        kwargs: dict[str, Any] = {}
        for (name, check, optional), field_path in zip(self.fields, paths, strict=True):
            if name in value:
                kwargs[name] = check(value[name], field_path)
            elif not optional:
                raise ProtocolError("bad_message", f"{path}: missing field {name!r}")
        if self.points_field is not None:
            kwargs["rows"] = point_rows(kwargs[self.points_field], limits or DEFAULT_LIMITS)
        return self.cls(**kwargs)


def point_rows(payload: bytes, limits: Limits) -> np.ndarray[Any, np.dtype[np.float32]]:
    """View a `bin` point batch as (n, 6) float32 rows, refusing partial rows and NaN/inf."""
    if len(payload) % POINT_ROW_BYTES:
        raise ProtocolError(
            "bad_points", f"bin: {len(payload)} bytes is not whole rows of {POINT_ROW_BYTES}"
        )
    n = len(payload) // POINT_ROW_BYTES
    if n > limits.max_points_per_batch:
        raise ProtocolError(
            "too_many_points", f"bin: {n} points, more than {limits.max_points_per_batch} a batch"
        )
    rows: np.ndarray[Any, np.dtype[np.float32]] = np.frombuffer(payload, dtype=_ROW_DTYPE)
    if not _all_finite(payload, rows):
        raise ProtocolError("non_finite", "bin: a point holds NaN or infinity")
    return rows


def _all_finite(payload: bytes, rows: np.ndarray[Any, np.dtype[np.float32]]) -> bool:
    """No NaN or infinity among the float32 values. On a little-endian machine (the wire's
    order) their float64 sum tells, at a third of numpy's cost for a small batch: no sum of
    float32 magnitudes overflows a float64, and a NaN or an infinity makes the sum one."""
    if _NATIVE_LITTLE and len(payload) <= _SUM_CHECK_BYTES:
        return math.isfinite(sum(memoryview(payload).cast("f")))
    return bool(np.isfinite(rows).all())


# one row as a sub-array type: frombuffer then gives (n, 6) float32 rows without a reshape
_ROW_DTYPE: Final = np.dtype((POINT_DTYPE, (len(POINT_COLUMNS),)))
_NATIVE_LITTLE: Final = sys.byteorder == "little"
_SUM_CHECK_BYTES: Final = 64 * POINT_ROW_BYTES  # beyond this, numpy's vector loop is cheaper


_STRUCTS: Final[dict[str, _Struct]] = {
    t: _Struct(cls) for t, cls in (CLIENT_MESSAGES | SERVER_MESSAGES).items()
}


# -- frames ----------------------------------------------------------------------------------


class _ExtRefusedError(Exception):
    pass


def _refuse_ext(code: int, data: bytes) -> Any:
    raise _ExtRefusedError(f"ext type {code}")


def _unpack(frame: bytes, limits: Limits) -> Any:
    if len(frame) > limits.max_frame_bytes:
        raise ProtocolError(
            "too_large", f"frame: {len(frame)} bytes, more than {limits.max_frame_bytes}"
        )
    try:
        return msgpack.unpackb(
            frame,
            raw=False,
            strict_map_key=True,
            use_list=True,
            max_str_len=limits.max_str_len,
            max_bin_len=limits.max_frame_bytes,
            max_array_len=limits.max_array_len,
            max_map_len=limits.max_map_len,
            max_ext_len=limits.max_frame_bytes,
            ext_hook=_refuse_ext,
        )
    except _ExtRefusedError as exc:
        raise ProtocolError("bad_frame", f"frame: msgpack ext types are refused ({exc})") from None
    except ValueError as exc:
        # msgpack reports a length over its max_*_len as a ValueError naming the limit.
        if "exceeds max" in str(exc):
            raise ProtocolError("too_large", f"frame: {exc}") from None
        raise ProtocolError("bad_frame", f"frame: not one msgpack value ({exc})") from None
    except Exception as exc:  # msgpack raises several unrelated classes for broken input
        raise ProtocolError("bad_frame", f"frame: not one msgpack value ({exc})") from None


def _frame_value(frame: bytes, limits: Limits) -> dict[Any, Any]:
    if type(frame) is not bytes:
        if not isinstance(frame, bytearray | memoryview):
            raise ProtocolError("bad_frame", "frame: expected binary data, got text")
        frame = bytes(frame)
    value = _unpack(frame, limits)
    if type(value) is not dict:
        raise ProtocolError("bad_frame", f"frame: expected a map, got {type(value).__name__}")
    return value


def _message(value: Any, sent_by: Sender, limits: Limits, path: str = "") -> Message:
    if type(value) is not dict:
        raise _bad(path or "frame", "a map", value)
    kind = value.get("type")
    if type(kind) is not str:
        raise ProtocolError("bad_message", f"{path}type: missing, or not a string")
    allowed: Mapping[str, type[Message]] = (
        CLIENT_MESSAGES if sent_by == "client" else SERVER_MESSAGES
    )
    if kind not in allowed:
        raise ProtocolError("unknown_type", f"type: {kind[:64]!r} is not a {sent_by} message")
    message: Message = _STRUCTS[kind].check(value, kind, strict=sent_by == "client", limits=limits)
    return message


def decode(frame: bytes, *, sent_by: Sender = "client", limits: Limits = DEFAULT_LIMITS) -> Message:
    """Parse and check one frame. A client's frame is checked strictly (unknown fields refused);
    the server's leniently (unknown fields ignored), so old clients survive new fields.
    A server `batch` frame is refused here: read server frames with `decode_frames`."""
    return _message(_frame_value(frame, limits), sent_by, limits)


def decode_frames(frame: bytes, *, limits: Limits = DEFAULT_LIMITS) -> list[Message]:
    """A server frame's messages, in order: the one it holds, or each message of a `batch`."""
    value = _frame_value(frame, limits)
    if value.get("type") != BATCH_TYPE:
        return [_message(value, "server", limits)]
    items = value.get("messages")
    if type(items) is not list:
        raise _bad("batch.messages", "an array", items)
    return [
        _message(item, "server", limits, f"batch.messages[{i}].") for i, item in enumerate(items)
    ]


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.metadata.get("wire", True) is not False
        }
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


_ENCODED: Final[dict[type[Message], tuple[tuple[str, bool], ...]]] = {
    s.cls: tuple(s.encoded) for s in _STRUCTS.values()
}
# a message of scalar fields only (feedback, peer points, acks: the hot ones) is read with one
# attrgetter call; one of several fields gives a tuple of them
_SCALAR_ONLY: Final[dict[type[Message], tuple[tuple[str, ...], Callable[[Any], Any]]]] = {
    cls: (tuple(name for name, _ in fields), operator.attrgetter(*(name for name, _ in fields)))
    for cls, fields in _ENCODED.items()
    if len(fields) > 1 and all(scalar for _, scalar in fields)
}

_PACKERS = threading.local()  # a msgpack Packer is not to be shared between threads


def _packer() -> Callable[[Any], bytes]:
    pack: Callable[[Any], bytes] = msgpack.Packer(use_bin_type=True).pack
    _PACKERS.pack = pack
    return pack


def encode(message: Message) -> bytes:
    """The frame for `message`: a msgpack map of its wire fields and its `type`."""
    fast = _SCALAR_ONLY.get(type(message))
    if fast is not None:
        body = dict(zip(fast[0], fast[1](message), strict=True))
    else:
        body = {}
        for name, scalar in _ENCODED[type(message)]:
            value = getattr(message, name)
            body[name] = value if scalar else _plain(value)
    body["type"] = message.TYPE
    pack = getattr(_PACKERS, "pack", None) or _packer()
    return pack(body)


# -- batches of server messages --------------------------------------------------------------

BATCH_TYPE: Final = "batch"
BATCH_MAX_MESSAGES: Final = DEFAULT_LIMITS.max_array_len
_BATCH_HEAD: Final[bytes] = b"\x82" + b"".join(
    msgpack.packb(s) for s in ("type", BATCH_TYPE, "messages")
)
BATCH_OVERHEAD_BYTES: Final = len(_BATCH_HEAD) + 3  # and the array's header


def encode_batch(frames: Sequence[bytes]) -> bytes:
    """One `batch` frame holding already-encoded messages, in order, without re-encoding them:
    a msgpack map whose `messages` array is the frames' bytes laid end to end."""
    n = len(frames)
    if not 0 < n <= BATCH_MAX_MESSAGES:
        raise ValueError(f"a batch holds 1..{BATCH_MAX_MESSAGES} messages, not {n}")
    count = bytes((0x90 | n,)) if n < 16 else b"\xdc" + n.to_bytes(2, "big")
    return _BATCH_HEAD + count + b"".join(frames)
