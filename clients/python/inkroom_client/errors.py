"""The client's errors: a refusal from the server, and a connection that is gone for good."""

from __future__ import annotations

from server.protocol import Error
from server.protocol_errors import ERROR_CODES


class InkroomClientError(Exception):
    """Base of every error this package raises."""


class ServerError(InkroomClientError):
    """The server refused something: `code` is a protocol error code (docs/protocol.md), `seq`
    the refused message's seq when it had one. `closes` says whether the server closes the
    connection after this code (`auth_failed`, `bad_frame`, ...)."""

    def __init__(self, code: str, message: str, seq: int | None = None) -> None:
        super().__init__(f"{code}: {message}" + (f" (seq {seq})" if seq is not None else ""))
        self.code = code
        self.message = message
        self.seq = seq

    @property
    def closes(self) -> bool:
        return ERROR_CODES.get(self.code, (False, ""))[0]

    @classmethod
    def of(cls, error: Error) -> ServerError:
        return cls(error.code, error.message, error.seq)


class ConnectionLostError(InkroomClientError):
    """The socket closed and the client will not (or could not) reconnect by itself."""

    def __init__(self, message: str, close_code: int | None = None) -> None:
        super().__init__(message if close_code is None else f"{message} (close code {close_code})")
        self.close_code = close_code


class ServerFrameError(InkroomClientError):
    """The server sent a frame `server.codec.decode` refuses: a server bug, or not Inkroom."""
