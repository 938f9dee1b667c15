from __future__ import annotations

import pytest

from server.metrics import Counter, Gauge, Histogram, Registry, ServerMetrics


def test_metrics_counter_with_labels_exposes_sorted_samples() -> None:
    counter = Counter("x_total", "things", ("type",))
    counter.inc(labels=("b",))
    counter.inc(2, labels=("a",))
    assert counter.value(("a",)) == 2
    assert counter.expose() == (
        '# HELP x_total things\n# TYPE x_total counter\nx_total{type="a"} 2\nx_total{type="b"} 1\n'
    )


def test_metrics_counter_refuses_going_down_and_wrong_labels() -> None:
    counter = Counter("x_total", "things", ("type",))
    with pytest.raises(ValueError, match="only goes up"):
        counter.inc(-1, labels=("a",))
    with pytest.raises(ValueError, match="labels"):
        counter.inc()


def test_metrics_label_values_are_escaped() -> None:
    counter = Counter("x_total", "things", ("route",))
    counter.inc(labels=('a"b\\c\nd',))
    assert 'x_total{route="a\\"b\\\\c\\nd"} 1' in counter.expose()


def test_metrics_gauge_goes_both_ways() -> None:
    gauge = Gauge("rooms", "rooms")
    gauge.inc(3)
    gauge.dec()
    assert gauge.expose().endswith("rooms 2\n")
    gauge.set(0.25)
    assert gauge.expose().endswith("rooms 0.25\n")


def test_metrics_histogram_buckets_are_cumulative() -> None:
    histogram = Histogram("lat_seconds", "latency", (0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        histogram.observe(value)
    lines = histogram.expose().splitlines()[2:]
    assert lines == [
        'lat_seconds_bucket{le="0.1"} 2',
        'lat_seconds_bucket{le="1"} 3',
        'lat_seconds_bucket{le="+Inf"} 4',
        "lat_seconds_sum 3.65",
        "lat_seconds_count 4",
    ]


def test_metrics_histogram_refuses_unsorted_buckets() -> None:
    with pytest.raises(ValueError, match="increasing"):
        Histogram("h", "h", (1.0, 0.5))


def test_metrics_registry_refuses_duplicate_names() -> None:
    registry = Registry()
    registry.register(Gauge("g", "g"))
    with pytest.raises(ValueError, match="already"):
        registry.register(Counter("g", "g"))


def test_metrics_server_metrics_name_what_the_issue_asks_for() -> None:
    text = ServerMetrics().expose()
    for name in (
        "inkroom_connections",
        "inkroom_rooms",
        "inkroom_messages_in_total",
        "inkroom_messages_out_total",
        "inkroom_points_scored_total",
        "inkroom_write_queue_depth",
        "inkroom_scoring_latency_seconds",
    ):
        assert f"# TYPE {name} " in text


def test_metrics_integer_amounts_expose_as_numbers() -> None:
    # the WebSocket layer counts points with len(): an int must expose, not crash /metrics
    m = ServerMetrics()
    m.points_scored.inc(40)
    m.connections.set(3)
    text = m.registry.expose()
    assert "inkroom_points_scored_total 40\n" in text
    assert "inkroom_connections 3\n" in text
