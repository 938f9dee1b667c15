// Replays: the learner's attempts and rooms, and a player with real timing, play/pause,
// 0.5x-4x, a scrubber, and each stroke's score shown as it completes.

import { api, catalog } from "../api.js";
import { Board, PALETTE } from "../board.js";
import { h, replace, percent } from "../dom.js";
import { base64Points } from "../protocol.js";
import { Clock, SPEEDS, buildTimeline, visiblePoints } from "../replay.js";

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");

export async function replaysView(main) {
  replace(main, h("h1", {}, "Replays"), h("p.muted", {}, "Loading…"));
  const [{ byId }, { attempts }, { sessions }] = await Promise.all([catalog(), api.attempts(), api.sessions()]);
  const lessonTitle = (id) => byId.get(id)?.title ?? "A lesson";
  replace(
    main,
    h("h1", {}, "Replays"),
    h("h2", {}, "My attempts"),
    attempts.length
      ? h("ul.list", { id: "attempts" }, attempts.map((a) =>
          h("li", { dataset: { attempt: a.id } },
            h("strong", {}, lessonTitle(a.lesson_id)),
            h("span.muted", {}, `${when(a.started_at)} · ${a.status}${a.session_id ? " · in a room" : ""}`),
            h("span.score", {}, percent(a.score)),
            h("a.button", { href: `#/replay/attempt/${a.id}` }, "Watch"))))
      : h("p.muted", {}, "No attempts yet: practise a lesson first."),
    h("h2", {}, "My rooms"),
    sessions.length
      ? h("ul.list", { id: "rooms" }, sessions.map((s) =>
          h("li", { dataset: { session: s.id } },
            h("strong", {}, s.lesson.title),
            h("span.muted", {}, `${when(s.created_at)} · ${s.state} · ${s.role}`),
            Array.from({ length: Math.max(s.shared_results, s.state === "finished" ? 0 : 1) }, (_, step) =>
              h("a.button", { href: `#/replay/room/${s.id}/${step}` }, `Step ${step + 1}`)))))
      : h("p.muted", {}, "No rooms yet."),
  );
}

export async function attemptReplayView(main, id) {
  const [{ byId }, replay] = await Promise.all([catalog(), api.attemptReplay(id)]);
  const summary = byId.get(replay.attempt.lesson_id);
  const { lesson } = await api.lesson(summary.slug);
  const stepOf = new Map(replay.steps.map((stepId, i) => [stepId, i]));
  const players = [{
    id: "me", name: "You", colour: PALETTE[0],
    strokes: replay.strokes.map((s) => ({ step: stepOf.get(s.step_id) ?? 0, createdAt: Date.parse(s.created_at), points: base64Points(s.points), score: s.score })),
  }];
  return player(main, { title: `${lesson.title}: your attempt`, subtitle: `${when(replay.attempt.started_at)} · ${percent(replay.attempt.score)}`, lesson, players });
}

export async function roomReplayView(main, id, step) {
  const replay = await api.stepReplay(id, Number(step));
  const { lesson } = await api.lesson(replay.session.lesson.slug);
  const players = replay.players.map((p, i) => ({
    id: p.user_id, name: p.display_name, colour: PALETTE[i % PALETTE.length],
    strokes: p.strokes.map((s) => ({ step: replay.step, createdAt: Date.parse(s.created_at), points: base64Points(s.points), score: s.score })),
  }));
  const shared = replay.shared_result ? ` · everyone ${percent(replay.shared_result.aggregated_score)}` : "";
  return player(main, { title: `${lesson.title}: room step ${replay.step + 1}`, subtitle: `${replay.players.length} player(s)${shared}`, lesson, players });
}

function player(main, { title, subtitle, lesson, players }) {
  const timeline = buildTimeline(players);
  const clock = new Clock(timeline.duration);
  const canvas = h("canvas.board", { id: "board", "aria-label": "Replay", dataset: { state: "paused", completed: "0", total: String(timeline.items.length) } });
  const playButton = h("button.primary", { type: "button", id: "play", onclick: () => toggle() }, "Play");
  const speed = h("select", { id: "speed", "aria-label": "Speed", onchange: () => clock.setSpeed(Number(speed.value)) },
    SPEEDS.map((s) => h("option", { value: String(s), selected: s === 1 }, `${s}x`)));
  const scrubber = h("input", { type: "range", id: "scrubber", "aria-label": "Position", min: "0", max: String(Math.ceil(timeline.duration)), step: "10", value: "0",
    oninput: () => (clock.seek(Number(scrubber.value)), render()) });
  const time = h("span.time", { id: "time" });
  const scores = h("ol.scores", { id: "replay-scores", "aria-live": "polite" });
  replace(
    main,
    h("h1", {}, title),
    h("p.muted", {}, subtitle, " · ", h("a", { href: "#/replays" }, "All replays")),
    h("ul.people", {}, players.map((p) => h("li", {}, h("span.swatch", { style: { background: p.colour } }), p.name))),
    h("div.stage", {},
      h("div", {},
        h("div.board-wrap", {}, canvas),
        h("div.player-controls", {}, playButton, speed, scrubber, time)),
      h("section.panel.card", { "aria-label": "Scores" }, h("h2", {}, "Strokes"), scores)),
  );
  const board = new Board(canvas, lesson.canvas);
  let shownStep = -1;
  let completed = -1;
  const seconds = (ms) => (ms / 1000).toFixed(1);

  function render() {
    board.clear();
    let latest = null;
    let done = 0;
    timeline.items.forEach((item, i) => {
      const n = visiblePoints(item, clock.at);
      if (!n) return;
      latest = item;
      board.addRows(`s${i}`, item.colour, item.points.subarray(0, 6 * n));
      if (clock.at >= item.end) done += 1;
    });
    const step = (latest ?? timeline.items[0])?.step ?? 0;
    if (step !== shownStep && lesson.steps[step]) {
      shownStep = step;
      board.setTargets(lesson.steps[step].targets, lesson.steps[step].tolerance, lesson.steps[step].guides);
    }
    if (done !== completed) {
      completed = done;
      replace(scores, timeline.items.filter((item) => clock.at >= item.end).map((item) =>
        h("li", {}, h("span.swatch", { style: { background: item.colour } }), ` ${item.name}, step ${item.step + 1}: `, h("span.score", {}, percent(item.score)))));
    }
    scrubber.value = String(Math.round(clock.at));
    time.textContent = `${seconds(clock.at)} / ${seconds(timeline.duration)} s`;
    canvas.dataset.completed = String(done);
    canvas.dataset.state = clock.playing ? "playing" : clock.ended && timeline.items.length ? "ended" : "paused";
    playButton.textContent = clock.playing ? "Pause" : clock.ended ? "Replay" : "Play";
  }

  let frame = 0;
  let last = 0;
  const loop = (now) => {
    clock.advance(last ? now - last : 0);
    last = now;
    render();
    frame = clock.playing ? requestAnimationFrame(loop) : 0;
  };
  function toggle() {
    if (clock.playing) {
      clock.pause();
    } else {
      clock.play();
      last = 0;
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(loop);
    }
    render();
  }
  render();
  return () => {
    cancelAnimationFrame(frame);
    board.destroy();
  };
}
