"""RFC 6455 framing, sans-I/O: bytes in, whole messages out; messages in, frame bytes out.

Theory of operation: `FrameReader.feed` takes whatever bytes the socket gave and returns the
complete messages and control frames in them, keeping an incomplete tail for the next call. A
message split into fragments comes out once, whole. The reader enforces what the role demands:
a server reads only masked frames (`masked=True`), a client only unmasked ones, no reserved bits
(no extension is ever negotiated), control frames short and unfragmented, and no message over
`max_size` (announced size is checked before any payload is buffered). Any breach raises
`FrameError` with the close code the connection must be failed with (1002 or 1009); what was
returned before it stands. Both sides of Inkroom's lean WebSocket use this module: the server's
transport (`server/ws_transport.py`) and the load bots' client (`benchmarks/load/wire.py`).

The XOR mask uses websockets' C helper (`websockets.speedups.apply_mask`) when it is built:
about 0.15 us for a 200-byte payload, against 1.4 us with `int.from_bytes`.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Final

GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT: Final = 0x0
OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2
OP_CLOSE: Final = 0x8
OP_PING: Final = 0x9
OP_PONG: Final = 0xA
CLOSE_NORMAL: Final = 1000
CLOSE_GOING_AWAY: Final = 1001
CLOSE_PROTOCOL_ERROR: Final = 1002
CLOSE_NO_STATUS: Final = 1005
CLOSE_ABNORMAL: Final = 1006
CLOSE_TOO_BIG: Final = 1009
MAX_CONTROL_PAYLOAD: Final = 125


def _mask_int(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    repeated = (key * ((n >> 2) + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")


try:
    from websockets.speedups import apply_mask as _apply_mask

    def mask(payload: bytes, key: bytes) -> bytes:
        """`payload` XOR `key` repeated (RFC 6455 section 5.3); masking twice unmasks."""
        return _apply_mask(payload, key)

except ImportError:  # pragma: no cover - websockets ships the C helper on the usual platforms
    mask = _mask_int


class FrameError(Exception):
    """The peer broke RFC 6455: fail the connection with `code` (1002, or 1009: too big)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.frames: list[Frame] = []  # the whole frames read before the breach


@dataclass(frozen=True, slots=True)
class Frame:
    """A whole data message (OP_BINARY or OP_TEXT, fragments joined) or a control frame."""

    opcode: int
    payload: bytes


def header(opcode: int, size: int, *, fin: bool = True, masked: bool = False) -> bytes:
    b0 = (0x80 if fin else 0) | opcode
    m = 0x80 if masked else 0
    if size < 126:
        return bytes((b0, m | size))
    if size < 65_536:
        return bytes((b0, m | 126)) + size.to_bytes(2, "big")
    return bytes((b0, m | 127)) + size.to_bytes(8, "big")


def encode_frame(
    opcode: int, payload: bytes, *, key: bytes | None = None, fin: bool = True
) -> bytes:
    """One frame: unmasked (a server's) without `key`, masked with the 4-byte `key` (a client's)."""
    if key is None:
        return header(opcode, len(payload), fin=fin) + payload
    if len(key) != 4:
        raise ValueError("a mask key is 4 bytes")
    masked = mask(payload, key) if payload else b""
    return header(opcode, len(payload), fin=fin, masked=True) + key + masked


def close_payload(code: int, reason: str = "") -> bytes:
    """A close frame's body: the code, then a UTF-8 reason cut to fit a control frame."""
    body = code.to_bytes(2, "big") + reason.encode()[: MAX_CONTROL_PAYLOAD - 2]
    # cutting may split a character: drop its partial bytes so the reason stays valid UTF-8
    return body[:2] + body[2:].decode("utf-8", "ignore").encode()


def parse_close(payload: bytes) -> tuple[int, str]:
    """The code and reason of a received close frame (1005 for an empty one)."""
    if not payload:
        return CLOSE_NO_STATUS, ""
    if len(payload) == 1:
        raise FrameError(CLOSE_PROTOCOL_ERROR, "a close frame with a 1-byte body")
    code = int.from_bytes(payload[:2], "big")
    if code < 1000 or code in (1004, 1005, 1006, 1015) or 1016 <= code < 3000 or code >= 5000:
        raise FrameError(CLOSE_PROTOCOL_ERROR, f"close code {code} may not be sent")
    try:
        reason = payload[2:].decode()
    except UnicodeDecodeError:
        raise FrameError(CLOSE_PROTOCOL_ERROR, "a close reason that is not UTF-8") from None
    return code, reason


def accept_for(key: str) -> str:
    """The Sec-WebSocket-Accept that answers Sec-WebSocket-Key `key`."""
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def valid_key(key: str) -> bool:
    """A Sec-WebSocket-Key is 16 bytes, base64-encoded."""
    try:
        return len(base64.b64decode(key.encode(), validate=True)) == 16
    except (ValueError, UnicodeEncodeError):
        return False


class FrameReader:
    """Incremental frame parser for one direction of one connection."""

    def __init__(self, *, masked: bool, max_size: int) -> None:
        self.masked = masked
        self.max_size = max_size
        self._rest = bytearray()  # bytes of a frame not complete yet
        self._need = 0  # len(_rest) at which the next frame may be complete
        self._fragments: list[bytes] | None = None
        self._fragments_opcode = 0
        self._fragments_size = 0

    def feed(self, data: bytes) -> list[Frame]:
        """The whole messages and control frames completed by `data`, in order."""
        out: list[Frame] = []
        try:
            self._feed(data, out)
        except FrameError as error:
            error.frames = out
            raise
        return out

    def _feed(self, data: bytes, out: list[Frame]) -> None:
        rest = self._rest
        if rest:
            rest += data
            if len(rest) < self._need:
                return
            data = bytes(rest)
            rest.clear()
        n = len(data)
        i = 0
        self._need = 0
        want_mask = 0x80 if self.masked else 0
        while n - i >= 2:
            b0 = data[i]
            b1 = data[i + 1]
            size = b1 & 0x7F
            at = i + 2
            if size == 126:
                if n - i < 4:
                    break
                size = int.from_bytes(data[at : at + 2], "big")
                at += 2
            elif size == 127:
                if n - i < 10:
                    break
                size = int.from_bytes(data[at : at + 8], "big")
                at += 8
            if b1 & 0x80 != want_mask:
                raise FrameError(
                    CLOSE_PROTOCOL_ERROR,
                    "a client frame must be masked" if self.masked else "a server frame is masked",
                )
            if b0 & 0x70:
                raise FrameError(CLOSE_PROTOCOL_ERROR, "reserved bits set (no extension in use)")
            if size > self.max_size:
                raise FrameError(CLOSE_TOO_BIG, f"frame of {size} bytes, over {self.max_size}")
            end = at + size + (4 if want_mask else 0)
            if end > n:
                self._need = end - i
                break
            if want_mask:
                key = data[at : at + 4]
                payload = mask(data[at + 4 : end], key) if size else b""
            else:
                payload = data[at:end]
            i = end
            opcode = b0 & 0x0F
            fin = b0 & 0x80
            if opcode in (OP_BINARY, OP_TEXT):
                if self._fragments is not None:
                    raise FrameError(CLOSE_PROTOCOL_ERROR, "a new message inside a fragmented one")
                if fin:
                    out.append(Frame(opcode, payload))
                else:
                    self._fragments = [payload]
                    self._fragments_opcode = opcode
                    self._fragments_size = size
            elif opcode == OP_CONT:
                fragments = self._fragments
                if fragments is None:
                    raise FrameError(CLOSE_PROTOCOL_ERROR, "a continuation outside a message")
                self._fragments_size += size
                if self._fragments_size > self.max_size:
                    too_big = f"message of {self._fragments_size}+ bytes, over {self.max_size}"
                    raise FrameError(CLOSE_TOO_BIG, too_big)
                fragments.append(payload)
                if fin:
                    self._fragments = None
                    out.append(Frame(self._fragments_opcode, b"".join(fragments)))
            elif opcode in (OP_CLOSE, OP_PING, OP_PONG):
                if not fin or size > MAX_CONTROL_PAYLOAD:
                    raise FrameError(CLOSE_PROTOCOL_ERROR, "a control frame fragmented or too long")
                out.append(Frame(opcode, payload))
            else:
                raise FrameError(CLOSE_PROTOCOL_ERROR, f"unknown opcode {opcode:#x}")
        if i < n:
            self._rest += data[i:] if i else data
