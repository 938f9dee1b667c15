// The web client's protocol module against a scripted fake WebSocket: numbering, acks (and
// feedback.seq as an ack), rseq, resume after a drop with the stroke in progress kept.
import { test } from "node:test";
import assert from "node:assert/strict";
import { encode, decode } from "../js/msgpack.js";
import {
  Connection, ClientSession, packPoints, unpackPoints, RECEIVERS,
} from "../js/protocol.js";

class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.all.push(this);
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.();
    });
  }
  send(bytes) {
    this.sent.push(structuredClone(decode(bytes))); // plain objects, for deepEqual
  }
  close() {
    this.readyState = 3;
  }
  serve(message) {
    this.onmessage?.({ data: encode(message).buffer });
  }
  serverClose(code) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const WELCOME = (token) => ({ type: "welcome", user: 1, name: "A", resume_token: token, limits: { max_points_per_batch: 4 } });

async function connected() {
  FakeSocket.all = [];
  const c = new Connection({ url: "ws://x/ws", token: "t", device: { kind: "stylus", pressure: true, tilt: true }, WebSocket: FakeSocket, firstDelayMs: 1, maxDelayMs: 2 });
  const opened = c.open();
  await tick();
  const socket = FakeSocket.all[0];
  assert.equal(socket.sent[0].type, "hello");
  assert.deepEqual(socket.sent[0].device, { kind: "stylus", pressure: true, tilt: true });
  socket.serve(WELCOME("r-1"));
  await opened;
  return { c, socket };
}

test("points pack as little-endian float32 rows, 24 bytes a row", () => {
  const rows = new Float32Array([100, 300, 0, 0.5, 0, 0, 1.5, -2, 16, 1, 90, -90]);
  const bin = packPoints(rows);
  assert.equal(bin.length, 48);
  assert.deepEqual([...bin.slice(0, 4)], [0, 0, 0xc8, 0x42]); // 100.0f little-endian
  assert.deepEqual(unpackPoints(bin), rows);
  assert.throws(() => packPoints(new Float32Array(5)), RangeError);
  assert.throws(() => unpackPoints(new Uint8Array(25)), RangeError);
});

test("an opener restarts seq at 1; acks and feedback.seq release kept messages", async () => {
  const { c, socket } = await connected();
  c.send({ type: "start_attempt", lesson: "steady-lines" });
  assert.equal(c.sendSeq({ type: "stroke_begin" }), 1);
  c.sendPoints(new Float32Array(6 * 6)); // 6 rows, batches of 4: seq 2 and 3
  assert.deepEqual(socket.sent.slice(1).map((m) => [m.type, m.seq]), [
    ["start_attempt", undefined], ["stroke_begin", 1], ["points", 2], ["points", 3],
  ]);
  assert.equal(socket.sent[3].bin.length, 4 * 24);
  socket.serve({ type: "attempt_started", rseq: 1, attempt: 9, lesson: "steady-lines", steps: 6 });
  socket.serve({ type: "ack", seq: 1 });
  assert.deepEqual([...c.session.kept.keys()], [2, 3]);
  let answered = null;
  c.on("feedback", (_m, extra) => (answered = extra.batch));
  socket.serve({ type: "feedback", seq: 2, stroke: 0, target: 0, progress: 0.5, deviation: 1, off_path: false, points: 4 });
  assert.equal(answered, 2);
  assert.deepEqual([...c.session.kept.keys()], [3]); // feedback {seq: 2} acknowledged seq 2
  // an older server: feedback without seq answers the oldest batch waiting for one
  socket.serve({ type: "feedback", stroke: 0, target: 0, progress: 0.6, deviation: 1, off_path: true, points: 6 });
  assert.equal(answered, 3);
  assert.deepEqual([...c.session.kept.keys()], [3]);
  socket.serve({ type: "ack", seq: 3 });
  assert.equal(c.session.kept.size, 0);
  c.close();
});

test("an error with a seq uses it up unless the code keeps it", () => {
  const s = new ClientSession();
  s.openStream();
  RECEIVERS.room_joined(s, {});
  s.opening = false;
  for (let i = 0; i < 3; i++) s.number({ type: "undo" });
  assert.deepEqual(s.receive({ type: "error", code: "rate_limited", message: "", seq: 2 }), { resend: true });
  assert.deepEqual([...s.kept.keys()], [1, 2, 3]);
  s.receive({ type: "error", code: "bad_state", message: "", seq: 2 });
  assert.deepEqual([...s.kept.keys()], [3]);
  s.receive({ type: "presence", rseq: 7, participants: [] });
  s.receive({ type: "peer_points", rseq: 5, user: 2, stroke: 0, bin: new Uint8Array() });
  assert.equal(s.lastRseq, 7);
});

test("a drop mid-stroke: points drawn offline are kept and resent after resume", async () => {
  const { c, socket } = await connected();
  c.send({ type: "start_attempt", lesson: "steady-lines" });
  socket.serve({ type: "attempt_started", rseq: 1, attempt: 9, lesson: "steady-lines", steps: 6 });
  socket.serve({ type: "step_started", rseq: 2, step: 0, hint_available: true });
  c.sendSeq({ type: "stroke_begin" }); // 1
  c.sendPoints(new Float32Array(6 * 2).fill(1)); // 2
  socket.serve({ type: "ack", seq: 1 });
  socket.serverClose(1006); // the network drops; seq 2 was sent but never acknowledged
  assert.equal(c.state, "reconnecting");
  c.sendPoints(new Float32Array(6).fill(2)); // 3, drawn offline
  c.sendPoints(new Float32Array(6).fill(3)); // merged into 3 (never sent)
  c.sendSeq({ type: "stroke_end" }); // 4
  assert.deepEqual([...c.session.kept.keys()], [2, 3, 4]);
  await new Promise((r) => setTimeout(r, 20));
  const again = FakeSocket.all[1];
  assert.ok(again, "reconnected");
  assert.equal(again.sent[0].type, "hello");
  again.serve(WELCOME("r-2"));
  assert.deepEqual(again.sent[1], { type: "resume", resume_token: "r-1", last_rseq: 2 });
  again.serve({ type: "resumed", acked_seq: 1, snapshot: false, missed: 0 });
  assert.deepEqual(again.sent.slice(2).map((m) => [m.type, m.seq]), [
    ["points", 2], ["points", 3], ["stroke_end", 4],
  ]);
  assert.deepEqual([...unpackPoints(again.sent[3].bin)], [2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3]);
  assert.equal(c.state, "open");
  c.close();
});

test("a fatal close code ends the connection without reconnecting", async () => {
  const { c, socket } = await connected();
  socket.serverClose(4403);
  assert.equal(c.state, "closed");
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(FakeSocket.all.length, 1);
});

test("a batch frame is handled message by message, in order", async () => {
  const { c, socket } = await connected();
  const seen = [];
  c.on("*", (m) => seen.push(m.type));
  c.send({ type: "start_attempt", lesson: "steady-lines" });
  socket.serve({ type: "batch", messages: [
    { type: "attempt_started", rseq: 1, attempt: 9, lesson: "steady-lines", steps: 6 },
    { type: "step_started", rseq: 2, step: 0, hint_available: true },
    { type: "batch", messages: [{ type: "step_started", rseq: 3, step: 1, hint_available: true }] },
  ] });
  assert.deepEqual(seen, ["attempt_started", "step_started"]);
  assert.equal(c.session.lastRseq, 2);
  assert.equal(c.session.opening, false);
  c.close();
});
