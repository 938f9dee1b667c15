// Replays as a timeline (pure: no DOM, tested under node --test).
//
// A stored stroke has its points' own times (t, ms since the stroke began) and `created_at`,
// when the server stored it (at most about a second after it ended). A stroke therefore starts
// at created_at - its duration; one player's strokes never overlap (a stroke starts after that
// player's previous one ended); idle gaps longer than MAX_GAP_MS are shortened to GAP_MS so a
// replay does not show minutes of nothing. Everything else is played with its real timing.

export const MAX_GAP_MS = 2500;
export const GAP_MS = 1000;

// players: [{id, name, colour, strokes: [{step, createdAt (ms since epoch), points: Float32Array,
// score}]}] -> {items: [{player, name, colour, step, start, end, points, score}], duration}
export function buildTimeline(players, { maxGapMs = MAX_GAP_MS, gapMs = GAP_MS } = {}) {
  const items = [];
  for (const player of players) {
    let previousEnd = -Infinity;
    const strokes = [...player.strokes].sort((a, b) => a.createdAt - b.createdAt);
    for (const stroke of strokes) {
      const n = stroke.points.length / 6;
      const length = n ? stroke.points[6 * (n - 1) + 2] - stroke.points[2] : 0;
      const start = Math.max(stroke.createdAt - length, previousEnd);
      previousEnd = start + length;
      items.push({
        player: player.id, name: player.name, colour: player.colour, step: stroke.step,
        start, end: start + length, t0: n ? stroke.points[2] : 0, points: stroke.points,
        score: stroke.score ?? null,
      });
    }
  }
  items.sort((a, b) => a.start - b.start || a.end - b.end);
  const base = items.length ? items[0].start : 0;
  let shift = 0;
  let reach = -Infinity; // the latest end so far, in the strokes' own times
  for (const item of items) {
    const [start, end] = [item.start, item.end];
    if (reach > -Infinity && start - reach > maxGapMs) shift += start - reach - gapMs;
    item.start = start - base - shift;
    item.end = end - base - shift;
    reach = Math.max(reach, end);
  }
  const duration = items.reduce((most, item) => Math.max(most, item.end), 0);
  return { items, duration };
}

// How many of the item's points are drawn at time `at` (binary search on the t column).
export function visiblePoints(item, at) {
  const n = item.points.length / 6;
  if (at < item.start) return 0;
  if (at >= item.end) return n;
  const within = at - item.start + item.t0;
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (item.points[6 * mid + 2] <= within) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export const SPEEDS = [0.5, 1, 2, 4];

// A play head: advance(dtMs) moves it by dt * speed, up to the end.
export class Clock {
  constructor(duration) {
    this.duration = duration;
    this.at = 0;
    this.speed = 1;
    this.playing = false;
  }
  get ended() {
    return this.at >= this.duration;
  }
  play() {
    if (this.ended) this.at = 0;
    this.playing = true;
  }
  pause() {
    this.playing = false;
  }
  seek(at) {
    this.at = Math.min(this.duration, Math.max(0, at));
  }
  setSpeed(speed) {
    if (!SPEEDS.includes(speed)) throw new RangeError(`speed: one of ${SPEEDS.join(", ")}`);
    this.speed = speed;
  }
  advance(dtMs) {
    if (!this.playing) return;
    this.seek(this.at + dtMs * this.speed);
    if (this.ended) this.playing = false;
  }
}
