"""`server.frozen.quick_init`: a cheaper __init__ that leaves the class exactly what it was."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import InitVar, dataclass, field

import numpy as np
import pytest

from server import outputs, protocol
from server.frozen import quick_init


def _pair() -> tuple[type, type]:
    def make() -> type:
        @dataclass(frozen=True, slots=True)
        class Feedback:
            seq: int
            progress: float
            note: str = "none"
            off: bool = False

        return Feedback

    return make(), quick_init(make())


def test_quick_init_keeps_signature_defaults_equality_hash_and_frozenness() -> None:
    plain, quick = _pair()
    assert getattr(vars(quick)["__init__"], "quick", False)
    assert not getattr(vars(plain)["__init__"], "quick", False)
    assert str(inspect.signature(quick)) == str(inspect.signature(plain))
    calls: list[tuple[tuple[object, ...], dict[str, object]]] = [
        ((1, 0.5), {}), ((1, 0.5, "x"), {"off": True}), ((), {"seq": 2, "progress": 1.0}),
    ]  # fmt: skip
    for args, kwargs in calls:
        a, b = plain(*args, **kwargs), quick(*args, **kwargs)
        assert dataclasses.astuple(a) == dataclasses.astuple(b)
        assert repr(a).split("(", 1)[1] == repr(b).split("(", 1)[1]
        assert b == quick(*args, **kwargs) and hash(b) == hash(quick(*args, **kwargs))
    b = quick(1, 0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.seq = 2
    bad: list[tuple[tuple[object, ...], dict[str, object]]] = [
        ((), {}), ((1,), {}), ((1, 0.5), {"nope": 1}), ((1, 0.5, "x", True, 9), {}),
    ]  # fmt: skip
    for bad_args, bad_kwargs in bad:
        with pytest.raises(TypeError):
            quick(*bad_args, **bad_kwargs)
    with pytest.raises(TypeError):
        quick(1, 0.5, seq=1)  # given twice


def test_quick_init_leaves_the_classes_it_cannot_speak_for() -> None:
    @dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class KeywordOnly:
        a: int = field(kw_only=True)

    @dataclass(frozen=True, slots=True)
    class NotInInit:
        a: int
        b: int = field(init=False, default=0)

    @dataclass(frozen=True)
    class WithInitVar:
        a: int
        scale: InitVar[int]

    @dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("negative")

    for cls in (NotFrozen, NoSlots, Factory, KeywordOnly, NotInInit, WithInitVar, PostInit):
        before = vars(cls)["__init__"]
        assert vars(quick_init(cls))["__init__"] is before, cls.__name__
    with pytest.raises(ValueError):
        PostInit(-1)


def test_every_message_and_output_made_per_batch_has_the_quick_init() -> None:
    hot: list[type] = [
        protocol.Points, protocol.LiveFeedback, protocol.PeerPoints, protocol.StrokeEnd,
        protocol.StrokeScored, protocol.Ack, protocol.Error, outputs.Send, outputs.StrokeRecord,
    ]  # fmt: skip
    for cls in hot:
        assert getattr(vars(cls)["__init__"], "quick", False), cls.__name__
    rows = np.zeros((1, 6), np.float32)
    message = protocol.Points(7, rows.tobytes(), rows)
    assert (message.seq, message.bin, message.rows) == (7, rows.tobytes(), rows)
    assert protocol.Error("bad_seq", "why").seq is None  # a default
