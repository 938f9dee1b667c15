// Play together: create a room (its join code shown) or join one by code; the lobby with
// presence; the host starts; every player's strokes live in their own colour; the shared
// result of each step; the final ranking.

import { api, catalog } from "../api.js";
import { Board, PALETTE } from "../board.js";
import { h, replace, percent } from "../dom.js";
import { go, live } from "../live.js";
import { attachPen } from "../pen.js";
import { unpackPoints } from "../protocol.js";
import { feedbackList } from "./practice.js";

// The room this page is in, kept across views; its messages are gathered from room_joined on.
let current = null;

class RoomClient {
  constructor(conn, joined, lesson, missed = []) {
    this.conn = conn;
    this.me = conn.session.welcome.user;
    this.code = joined.code;
    this.role = joined.role;
    this.state = joined.state;
    this.steps = joined.steps;
    this.step = joined.step;
    this.lesson = lesson;
    this.participants = [];
    this.strokes = new Map(); // key -> {user, step, chunks: [Float32Array]}
    this.scores = []; // my stroke scores of this step
    this.stepResult = null;
    this.shared = [];
    this.final = null;
    this.sessionId = null;
    this.error = "";
    this.listeners = new Set();
    const handlers = new Map();
    const on = (type, fn) => {
      const handle = (m, extra) => (fn(m, extra), this.changed(type, m));
      handlers.set(type, handle);
      return conn.on(type, handle);
    };
    this.offs = [
      on("presence", (m) => (this.participants = m.participants)),
      on("room_started", () => (this.state = "active")),
      on("step_started", (m) => {
        this.step = m.step;
        this.deadline = m.deadline_s ?? null;
        this.strokes.clear();
        this.scores = [];
        this.stepResult = null;
      }),
      on("peer_stroke_begin", (m) => {
        if (m.step === this.step) this.strokes.set(`u${m.user}-${m.stroke}`, { user: m.user, chunks: [] });
      }),
      on("peer_points", (m) => {
        this.strokes.get(`u${m.user}-${m.stroke}`)?.chunks.push(unpackPoints(m.bin));
      }),
      on("peer_stroke_end", (m) => {
        const stroke = this.strokes.get(`u${m.user}-${m.stroke}`);
        if (stroke) stroke.total = m.total;
      }),
      on("peer_undo", (m) => this.strokes.delete(`u${m.user}-${m.stroke}`)),
      on("peer_retry", (m) => {
        for (const [key, stroke] of this.strokes) if (stroke.user === m.user) this.strokes.delete(key);
      }),
      on("stroke_score", (m) => this.scores.push(m)),
      on("step_result", (m) => (this.stepResult = m.score)),
      on("shared_result", (m) => this.shared.push(m)),
      on("final_results", (m) => {
        this.final = m;
        this.state = "finished";
      }),
      on("snapshot", (m) => {
        this.state = m.state;
        this.step = m.step;
        this.participants = m.participants;
      }),
      on("error", (m) => (this.error = `${m.code}: ${m.message}`)),
    ];
    // what came after room_joined while the lesson loaded (often in the same batch frame)
    for (const [m, extra] of missed) handlers.get(m.type)?.(m, extra);
    this.findSession();
  }

  async findSession() {
    try {
      const { sessions } = await api.sessions();
      this.sessionId = sessions.find((s) => s.join_code === this.code)?.id ?? null;
      this.changed("session", null);
    } catch {
      // replay links are left out
    }
  }

  colour(user) {
    const index = this.participants.findIndex((p) => p.user === user);
    return PALETTE[(index < 0 ? 0 : index) % PALETTE.length];
  }

  get host() {
    return this.participants.find((p) => p.user === this.me)?.role === "host" || this.role === "host";
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed(type, message) {
    for (const fn of this.listeners) fn(type, message);
  }

  leave() {
    if (this.state !== "finished") this.conn.sendSeq({ type: "leave_room" });
    for (const off of this.offs) off();
    if (current === this) current = null;
  }
}

async function enter(conn, opener) {
  const heard = [];
  const off = conn.on("*", (m, extra) => heard.push([m, extra]));
  try {
    conn.send(opener);
    const joined = await conn.next("room_joined");
    const { lesson } = await api.lesson(joined.lesson);
    current?.leave();
    const missed = heard.slice(heard.findIndex(([m]) => m === joined) + 1);
    current = new RoomClient(conn, joined, lesson, missed);
  } finally {
    off();
  }
  go("/room");
}

export async function playView(main) {
  const query = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const { courses } = await catalog();
  const lessons = courses.flatMap((c) => c.lessons);
  const select = h(
    "select",
    { id: "room-lesson" },
    lessons.map((l) => h("option", { value: l.slug, selected: l.slug === query.get("lesson") }, `${l.title}${l.access === "vip" ? " (VIP)" : ""}`)),
  );
  const code = h("input", { id: "join-code", autocomplete: "off", maxlength: "16", autocapitalize: "characters", placeholder: "K7MP3Q", required: true });
  const error = h("p.error", { role: "alert", id: "play-error" });
  const guard = (work) => async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await work();
    } catch (failure) {
      error.textContent = failure.message;
    }
  };
  replace(
    main,
    h("h1", {}, "Play together"),
    current ? h("p.card", {}, "You are in room ", h("strong", {}, current.code), ". ", h("a", { href: "#/room" }, "Back to the room")) : null,
    h("div.grid", {},
      h("form.card", { id: "create-form", onsubmit: guard(async () => enter(await live(), { type: "create_room", lesson: select.value })) },
        h("h2", {}, "Create a room"), h("label", { for: "room-lesson" }, "Lesson"), select,
        h("div.actions", {}, h("button.primary", { type: "submit", id: "create-room" }, "Create room"))),
      h("form.card", { id: "join-form", onsubmit: guard(async () => enter(await live(), { type: "join_room", code: code.value.trim().toUpperCase() })) },
        h("h2", {}, "Join a room"), h("label", { for: "join-code" }, "Join code"), code,
        h("div.actions", {}, h("button.primary", { type: "submit", id: "join-room" }, "Join")))),
    error,
  );
}

export function roomView(main) {
  const room = current;
  if (!room) {
    replace(main, h("h1", {}, "No room"), h("p", {}, h("a", { href: "#/play" }, "Create or join a room")));
    return null;
  }
  // my strokes in my colour as the others see it (colours follow the presence list's order)
  const mine = () => room.colour(room.me);
  const canvas = h("canvas.board", { id: "board", "aria-label": "Shared drawing board", tabindex: "0", dataset: { peerStrokes: "0", peerPoints: "0", ownStrokes: "0" } });
  const people = h("ul.people", { id: "people" });
  const stateLine = h("p.muted", { id: "room-state" });
  const start = h("button.primary", { type: "button", id: "start-room", onclick: () => room.conn.sendSeq({ type: "start_room" }) }, "Start");
  const finish = h("button.primary", { type: "button", id: "finish-step", onclick: () => endStep() }, "Finish step");
  const undo = h("button", { type: "button", id: "undo", onclick: () => undoStroke() }, "Undo");
  const leave = h("button", { type: "button", id: "leave-room", onclick: () => (room.leave(), go("/play")) }, "Leave");
  const end = h("button", { type: "button", id: "end-room", onclick: () => room.conn.sendSeq({ type: "end_room" }) }, "End room");
  const scores = h("ol.scores", { id: "stroke-scores", "aria-live": "polite" });
  const results = h("div", { id: "results", "aria-live": "polite" });
  const problems = h("p.error", { role: "alert" });
  replace(
    main,
    h("h1", {}, `Room `, h("span.code", { id: "room-code" }, room.code)),
    h("p.muted", {}, `${room.lesson.title} · share the code so others can join`),
    stateLine,
    h("div.stage", {},
      h("div.board-wrap", {}, canvas),
      h("section.panel.card", { "aria-label": "Room" },
        h("div.actions", {}, start, finish, undo, end, leave),
        h("h2", {}, "Players"), people,
        h("h2", {}, "My strokes"), scores,
        results, problems)),
  );
  const board = new Board(canvas, room.lesson.canvas);
  let strokeKey = null;
  let strokeCount = 0;
  const kept = [];
  let stepOver = false;

  const drawPeers = () => {
    board.clear((key) => key.startsWith("u"));
    let points = 0;
    for (const [key, stroke] of room.strokes) {
      for (const chunk of stroke.chunks) {
        board.addRows(key, room.colour(stroke.user), chunk);
        points += chunk.length / 6;
      }
    }
    canvas.dataset.peerStrokes = String(room.strokes.size);
    canvas.dataset.peerPoints = String(points);
  };

  const renderPeople = () =>
    replace(people, room.participants.map((p) =>
      h("li", { dataset: { user: String(p.user), presence: p.presence } },
        h("span.swatch", { style: { background: room.colour(p.user) } }),
        `${p.name}${p.user === room.me ? " (you)" : ""} · ${p.role} · ${p.presence}${p.step_done ? " · done" : p.drawing ? " · drawing" : ""}`)));

  const renderState = () => {
    const playing = room.state === "active" && !stepOver && !room.stepResult && room.role !== "spectator";
    stateLine.textContent = room.state === "waiting"
      ? room.host ? "Waiting for players. Start when everyone is here." : "Waiting for the host to start."
      : room.state === "active" ? `Step ${room.step + 1} of ${room.steps}` : "The room has ended.";
    start.hidden = !(room.state === "waiting" && room.host);
    end.hidden = !(room.state === "active" && room.host);
    finish.hidden = undo.hidden = room.state === "finished";
    leave.hidden = room.state === "finished";
    finish.disabled = !playing;
    undo.disabled = !playing || (!kept.length && !strokeKey);
    canvas.dataset.ownStrokes = String(kept.length);
    canvas.dataset.state = room.state;
  };

  const renderResults = () => {
    replace(results,
      room.stepResult ? h(`div.card.result${room.stepResult.passed ? "" : ".failed"}`, { id: "step-score" },
        h("strong", {}, `My step ${room.stepResult.step + 1}: ${percent(room.stepResult.total)}`), feedbackList(room.stepResult.feedback)) : null,
      room.shared.map((m) => h("div.card.shared", { dataset: { step: String(m.step) } },
        h("strong", {}, `Step ${m.step + 1}: everyone ${percent(m.aggregate)}`),
        h("ul", {}, m.scores.map((s) => h("li", {}, `${s.name}: ${s.score ? percent(s.score.total) : "left"}`))),
        room.sessionId ? h("a", { href: `#/replay/room/${room.sessionId}/${m.step}` }, "Watch this step") : null)),
      room.final ? h("div.card.result", { id: "final-results" },
        h("h2", {}, "Final ranking"),
        h("ol", {}, [...room.final.results].sort((a, b) => b.total - a.total).map((r) =>
          h("li", {}, `${r.name}: ${percent(r.total)} · ${r.steps_passed} step(s) passed`)))) : null);
  };

  const renderScores = () =>
    replace(scores, room.scores.map((m) => h("li", {}, h("span.score", {}, percent(m.total)), ` accuracy ${percent(m.accuracy)}, quality ${percent(m.quality)}`, feedbackList(m.feedback))));

  const setStep = () => {
    const spec = room.lesson.steps[room.step];
    if (spec && room.state !== "waiting") board.setTargets(spec.targets, spec.tolerance, spec.guides);
  };

  function endStep() {
    if (strokeKey) board.remove(strokeKey);
    strokeKey = null;
    stepOver = true;
    room.conn.sendSeq({ type: "step_end" });
    renderState();
  }

  function undoStroke() {
    room.conn.sendSeq({ type: "undo" });
    if (strokeKey) board.remove(strokeKey);
    else if (kept.length) board.remove(kept.pop());
    strokeKey = null;
    renderState();
  }

  const pen = attachPen(board, {
    canDraw: () => room.state === "active" && !stepOver && !room.stepResult && room.role !== "spectator",
    device: () => room.conn.device,
    onBegin: () => {
      strokeKey = `me-${room.step}-${strokeCount++}`;
      room.conn.sendSeq({ type: "stroke_begin" });
      renderState();
    },
    onRows: (rows) => {
      if (!strokeKey) return;
      board.addRows(strokeKey, mine(), rows);
      room.conn.sendPoints(rows);
    },
    onEnd: () => {
      if (!strokeKey) return;
      kept.push(strokeKey);
      strokeKey = null;
      room.conn.sendSeq({ type: "stroke_end" });
      renderState();
    },
  });

  const unsubscribe = room.subscribe((type) => {
    if (type === "step_started") {
      board.clear();
      kept.length = 0;
      strokeKey = null;
      stepOver = false;
      setStep();
      drawPeers();
      renderScores();
    } else if (type.startsWith("peer_")) drawPeers();
    else if (type === "stroke_score") renderScores();
    else if (type === "error") problems.textContent = room.error;
    if (type === "presence" || type === "snapshot") {
      renderPeople();
      drawPeers();
    }
    if (["step_result", "shared_result", "final_results", "session"].includes(type)) renderResults();
    renderState();
  });
  setStep();
  drawPeers();
  renderPeople();
  renderScores();
  renderResults();
  renderState();
  return () => {
    unsubscribe();
    pen.detach();
    board.destroy();
  };
}
