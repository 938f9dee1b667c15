"""Feedback for the learner: a code the client can act on and a sentence it can show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MESSAGES: Final = {
    "off_path": "Part of your stroke strayed from the guide; slow down where it bends.",
    "incomplete": "You stopped short: draw the whole length of the guide.",
    "reversed": "You drew this stroke backwards; start at the dot and follow the arrow.",
    "wobbly": "The line is shaky; relax your grip and move from the elbow.",
    "uneven_speed": "Your speed changed a lot; try one steady, even motion.",
    "hesitation": "You paused in the middle of the stroke; keep the pen moving.",
    "uneven_pressure": "Your pressure was uneven; keep it steady, or follow the thick and thin.",
    "start_off": "Start the stroke on the starting dot.",
    "end_off": "Finish the stroke on the end of the guide.",
    "missing_strokes": "Some strokes of this step are missing.",
    "extra_strokes": "You drew more strokes than this step has.",
    "wrong_order": "Draw the strokes in the numbered order.",
}
CODES: Final = tuple(MESSAGES)


@dataclass(frozen=True, slots=True)
class Feedback:
    """One thing to fix. `target` is the target stroke it concerns, where there is one."""

    code: str
    message: str
    target: int | None = None

    @classmethod
    def of(cls, code: str, target: int | None = None) -> Feedback:
        return cls(code, MESSAGES[code], target)
