// The replay timeline: real timing, no overlap within a player, long gaps shortened, the clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildTimeline, visiblePoints, Clock, GAP_MS } from "../js/replay.js";

// n points over `ms` milliseconds
function stroke(createdAt, ms, n = 5, step = 0, score = 0.5) {
  const points = new Float32Array(6 * n);
  for (let i = 0; i < n; i++) points.set([i, i, (ms * i) / (n - 1), 0.5, 0, 0], 6 * i);
  return { createdAt, points, step, score };
}

test("strokes start at created_at minus their duration, from zero", () => {
  const { items, duration } = buildTimeline([
    { id: "a", strokes: [stroke(10_000, 800), stroke(11_500, 400)] },
    { id: "b", strokes: [stroke(10_300, 600)] },
  ]);
  assert.deepEqual(items.map((i) => [i.player, i.start, i.end]), [
    ["a", 0, 800], ["b", 500, 1100], ["a", 1900, 2300],
  ]);
  assert.equal(duration, 2300);
});

test("one player's strokes never overlap; long idle gaps are shortened", () => {
  const { items } = buildTimeline([{ id: "a", strokes: [stroke(1000, 800), stroke(1100, 500), stroke(60_000, 100)] }]);
  assert.deepEqual(items.map((i) => [i.start, i.end]), [[0, 800], [800, 1300], [1300 + GAP_MS, 1400 + GAP_MS]]);
});

test("visible points follow the points' own times", () => {
  const { items } = buildTimeline([{ id: "a", strokes: [stroke(1000, 800, 5)] }]);
  const [item] = items;
  assert.equal(visiblePoints(item, -1), 0);
  assert.equal(visiblePoints(item, 0), 1);
  assert.equal(visiblePoints(item, 450), 3);
  assert.equal(visiblePoints(item, 800), 5);
});

test("the clock plays at 0.5x-4x, stops at the end, and seeks", () => {
  const clock = new Clock(1000);
  clock.setSpeed(4);
  clock.play();
  clock.advance(100);
  assert.equal(clock.at, 400);
  clock.advance(1000);
  assert.equal(clock.at, 1000);
  assert.ok(clock.ended && !clock.playing);
  clock.seek(-5);
  assert.equal(clock.at, 0);
  assert.throws(() => clock.setSpeed(3), RangeError);
});
