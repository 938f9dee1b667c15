"""Client sequence numbers: each state-changing message is applied once, in order.

Inside an attempt or a room, every client message carries `seq`, 1, 2, 3, ... A message whose
seq was already applied is a resend (after a reconnect, say): it is acknowledged again and not
applied. A seq that skips ahead means the client lost track; it is refused with `bad_seq` and
not applied. A message that is refused for any other reason still uses up its seq, so one bad
message does not stall the stream.
"""

from __future__ import annotations

from server.protocol_errors import ProtocolError


class ClientSeq:
    def __init__(self) -> None:
        self.applied = 0

    def admit(self, seq: int) -> bool:
        """True: apply the message. False: a duplicate, ack it again. ProtocolError: a gap."""
        if seq <= self.applied:
            return False
        if seq != self.applied + 1:
            raise ProtocolError("bad_seq", f"seq: expected {self.applied + 1}, got {seq}")
        self.applied = seq
        return True
