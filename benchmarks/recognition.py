"""Copy-mode scoring on real strokes: does a sample match its own symbol best?

    python3 benchmarks/recognition.py [--input pen|finger] [--subjects N]

For every (subject, symbol, stroke count) group with two samples or more at one speed, the
first sample is scored in copy mode against the second, and against one sample of each other
symbol the same subject drew at that speed. Prints how often the same symbol scores higher.
Data: INKROOM_STROKE_DATA, default ../shared/data/mmg-strokes.jsonl.gz.
"""

from __future__ import annotations

import argparse
import collections
import time
from typing import Any

import numpy as np
from inkroom_client.mmg import drawable, gestures, wire_rows

from scoring import StepSpec, repair_stroke, score_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", default="pen", choices=("pen", "finger"))
    parser.add_argument("--subjects", type=int, default=0, help="first N subjects (0: all)")
    args = parser.parse_args()
    records = [r for r in gestures() if r["input"] == args.input and drawable(r)]
    subjects = sorted({r["subject"] for r in records})
    if args.subjects:
        subjects = subjects[: args.subjects]
    groups: dict[tuple[str, str, str, int], list[dict[str, Any]]] = collections.defaultdict(list)
    for r in records:
        if r["subject"] in subjects:
            groups[(r["subject"], r["speed"], r["label"], len(r["strokes"]))].append(r)
    specs: dict[int, StepSpec] = {}

    def spec_of(r: dict[str, Any]) -> StepSpec:
        if id(r) not in specs:
            targets = [np.column_stack((s["x"], s["y"])).astype(float) for s in r["strokes"]]
            specs[id(r)] = StepSpec(targets, 0.06, tolerance_unit="relative", mode="copy")
        return specs[id(r)]

    start = time.perf_counter()
    wins = comparisons = best = samples = 0
    for (subject, speed, label, _k), group in sorted(groups.items()):
        if len(group) < 2:
            continue
        drawn = [repair_stroke(wire_rows(s))[0] for s in group[0]["strokes"]]
        same = score_step(spec_of(group[1]), drawn).accuracy
        others = {
            lab: g[0] for (s, sp, lab, _), g in groups.items()
            if s == subject and sp == speed and lab != label
        }  # fmt: skip
        scores = [score_step(spec_of(o), drawn).accuracy for o in others.values()]
        wins += sum(same > v for v in scores)
        comparisons += len(scores)
        best += same > max(scores)
        samples += 1
    print(
        f"{args.input}, {len(subjects)} subjects: same symbol scores higher in "
        f"{wins}/{comparisons} comparisons ({wins / comparisons:.1%}); highest of all symbols "
        f"for {best}/{samples} samples ({best / samples:.1%}); {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
