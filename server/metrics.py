"""A small metrics registry with Prometheus text exposition (format 0.0.4), written by hand.

Counters, gauges and histograms, optionally labelled. Updates are plain attribute arithmetic on
the event loop's thread (no locks: everything that updates them runs on that one loop).
`ServerMetrics` holds the ones the server reports; each app has its own.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Sequence
from typing import Final, TypeVar

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS_S: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

Labels = tuple[str, ...]


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _label_text(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    pairs = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


class _Metric:
    kind = ""

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help
        self.labelnames = tuple(labelnames)

    def _key(self, labels: Sequence[str]) -> Labels:
        if len(labels) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {tuple(labels)}")
        return tuple(labels)

    def samples(self) -> Iterator[str]:
        raise NotImplementedError

    def expose(self) -> str:
        header = f"# HELP {self.name} {self.help}\n# TYPE {self.name} {self.kind}\n"
        return header + "".join(line + "\n" for line in self.samples())


class Counter(_Metric):
    kind = "counter"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help, labelnames)
        self._values: dict[Labels, float] = {} if labelnames else {(): 0.0}

    def inc(self, amount: float = 1.0, labels: Sequence[str] = ()) -> None:
        # on the hot path (a few calls a message): the checks of _key, inline
        if amount < 0:
            raise ValueError("a counter only goes up")
        key = labels if type(labels) is tuple else tuple(labels)
        if len(key) != len(self.labelnames):
            self._key(labels)  # raises, naming the labels
        values = self._values
        values[key] = values.get(key, 0.0) + amount

    def value(self, labels: Sequence[str] = ()) -> float:
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> Iterator[str]:
        for key, value in sorted(self._values.items()):
            yield f"{self.name}{_label_text(self.labelnames, key)} {_format_value(value)}"


class Gauge(Counter):
    kind = "gauge"

    def inc(self, amount: float = 1.0, labels: Sequence[str] = ()) -> None:
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + float(amount)

    def dec(self, amount: float = 1.0, labels: Sequence[str] = ()) -> None:
        self.inc(-amount, labels)

    def set(self, value: float, labels: Sequence[str] = ()) -> None:
        self._values[self._key(labels)] = float(value)


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name: str, help: str, buckets: Sequence[float]) -> None:
        super().__init__(name, help)
        if list(buckets) != sorted(set(buckets)) or not buckets:
            raise ValueError("histogram buckets must be increasing and distinct")
        self.buckets = tuple(buckets)
        self._counts = [0] * (len(self.buckets) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self._counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def samples(self) -> Iterator[str]:
        cumulative = 0
        for bound, count in zip((*self.buckets, math.inf), self._counts, strict=True):
            cumulative += count
            yield f'{self.name}_bucket{{le="{_format_value(bound)}"}} {cumulative}'
        yield f"{self.name}_sum {_format_value(self.sum)}"
        yield f"{self.name}_count {self.count}"


M = TypeVar("M", bound=_Metric)


class Registry:
    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def register(self, metric: M) -> M:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is already registered")
        self._metrics[metric.name] = metric
        return metric

    def expose(self) -> str:
        return "".join(metric.expose() for metric in self._metrics.values())


class ServerMetrics:
    """What the server reports at /metrics; the WebSocket layer and the writer update these."""

    def __init__(self) -> None:
        self.registry = registry = Registry()
        self.connections = registry.register(
            Gauge("inkroom_connections", "open WebSocket connections")
        )
        self.rooms = registry.register(Gauge("inkroom_rooms", "live rooms held by this process"))
        self.messages_in = registry.register(
            Counter("inkroom_messages_in_total", "WebSocket messages received", ("type",))
        )
        self.messages_out = registry.register(
            Counter("inkroom_messages_out_total", "WebSocket messages sent", ("type",))
        )
        self.points_scored = registry.register(
            Counter("inkroom_points_scored_total", "stylus points run through the live scorer")
        )
        self.write_queue_depth = registry.register(
            Gauge("inkroom_write_queue_depth", "items waiting in the persistence writer")
        )
        self.scoring_latency = registry.register(
            Histogram(
                "inkroom_scoring_latency_seconds",
                "time to score one point batch",
                LATENCY_BUCKETS_S,
            )
        )
        self.http_requests = registry.register(
            Counter("inkroom_http_requests_total", "HTTP API responses", ("route", "status"))
        )

    def expose(self) -> str:
        return self.registry.expose()
