// Inkroom's live protocol (docs/protocol.md), the one place the web client speaks it.
//
// Theory of operation. Two layers, as in the Python client (clients/python/inkroom_client):
//
// - `ClientSession` is pure bookkeeping, no socket and no clock. Opening an attempt or a room
//   (`start_attempt`, `create_room`, `join_room`: the openers) starts a new client stream: the
//   next sequenced message is seq 1, then +1 each. Every sequenced message is kept until an
//   `ack {seq}` covers it (the highest seq applied, contiguously), or a `feedback {seq}`, which
//   acknowledges its points batch exactly like an ack. An `error` carrying a seq covers it too,
//   unless its code did not use the seq up (`bad_seq`, `rate_limited`): those are sent again.
//   `last_rseq` is the highest rseq seen in the stream; `resume` sends it. All server messages go
//   through one dispatch table, RECEIVERS, keyed by type.
// - `Connection` does the I/O: one WebSocket at a time, `hello` -> `welcome`, and after a drop a
//   new socket with exponential backoff, `hello`, `resume {resume_token of the lost connection,
//   last_rseq}`, then every kept message after `resumed.acked_seq`, in order. Points drawn while
//   the socket is down are kept (merged into the last unsent batch) and reach the server after
//   the resume, so a stroke in progress is not lost. Listeners subscribe by message type. A
//   `batch` frame's messages are handled one by one, as if each had come in its own frame.

import { encode, decode, MsgpackError } from "./msgpack.js";

export const POINT_COLUMNS = 6; // x, y, t, pressure, tilt_x, tilt_y
export const ROW_BYTES = 4 * POINT_COLUMNS;
export const SEQUENCED = new Set([
  "stroke_begin", "points", "stroke_end", "step_end", "next_step", "undo", "retry", "hint",
  "start_room", "end_room", "leave_room",
]);
export const OPENERS = new Set(["start_attempt", "create_room", "join_room"]);
export const SEQ_KEPT_CODES = new Set(["bad_seq", "rate_limited"]);
// closes after which reconnecting cannot help (docs/protocol.md, "Error codes")
export const FATAL_CLOSE_CODES = new Set([4400, 4401, 4403, 4413]);
const DEFAULT_MAX_POINTS_PER_BATCH = 1024;

// Rows (a Float32Array of 6 * n numbers, row-major) as the wire's bin: little-endian float32.
export function packPoints(rows) {
  if (rows.length % POINT_COLUMNS !== 0) throw new RangeError("points: not whole 6-column rows");
  const out = new Uint8Array(rows.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < rows.length; i++) view.setFloat32(4 * i, rows[i], true);
  return out;
}

// The wire's bin as a Float32Array of 6 * n numbers (a copy, whatever the machine's byte order).
export function unpackPoints(bin) {
  if (bin.length % ROW_BYTES !== 0) throw new RangeError("points: not whole 24-byte rows");
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const out = new Float32Array(bin.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

export function base64Points(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return unpackPoints(bytes);
}

export class ClientSession {
  constructor() {
    this.nextSeq = 1;
    this.ackedSeq = 0;
    this.lastRseq = 0;
    this.inStream = false; // an attempt or a room is open (or being opened)
    this.opening = false; // an opener was sent and its answer has not come
    this.kept = new Map(); // seq -> message, in seq order
    this.unsent = new Set(); // kept seqs never written to a socket
    this.feedbackDue = []; // points seqs applied-or-pending whose feedback has not come
    this.welcome = null;
    this.resumeToken = null;
  }

  get maxPointsPerBatch() {
    return this.welcome?.limits?.max_points_per_batch ?? DEFAULT_MAX_POINTS_PER_BATCH;
  }

  openStream() {
    this.nextSeq = 1;
    this.ackedSeq = 0;
    this.lastRseq = 0;
    this.inStream = true;
    this.opening = true;
    this.kept.clear();
    this.unsent.clear();
    this.feedbackDue = [];
  }

  number(message) {
    const numbered = { ...message, seq: this.nextSeq++ };
    this.kept.set(numbered.seq, numbered);
    this.unsent.add(numbered.seq);
    return numbered;
  }

  // Points drawn while offline join the last kept batch if it never left (fewer resends).
  mergePoints(bin) {
    const last = [...this.kept.values()].at(-1);
    if (!last || last.type !== "points" || !this.unsent.has(last.seq)) return false;
    if ((last.bin.length + bin.length) / ROW_BYTES > this.maxPointsPerBatch) return false;
    const merged = new Uint8Array(last.bin.length + bin.length);
    merged.set(last.bin);
    merged.set(bin, last.bin.length);
    last.bin = merged;
    return true;
  }

  sent(message) {
    this.unsent.delete(message.seq);
    if (message.type === "points" && !this.feedbackDue.includes(message.seq)) {
      this.feedbackDue.push(message.seq);
    }
  }

  pending() {
    return [...this.kept.values()];
  }

  receive(message) {
    const handler = RECEIVERS[message.type];
    const extra = handler ? handler(this, message) : undefined;
    if (Number.isInteger(message.rseq) && message.rseq > this.lastRseq) {
      this.lastRseq = message.rseq;
    }
    return extra;
  }

  acknowledge(upto) {
    for (const seq of [...this.kept.keys()]) {
      if (seq > upto) break;
      this.kept.delete(seq);
      this.unsent.delete(seq);
    }
    this.ackedSeq = Math.max(this.ackedSeq, upto);
  }

  resumeFailed() {
    this.inStream = this.opening = false;
    this.kept.clear();
    this.unsent.clear();
    this.feedbackDue = [];
  }
}

// One handler per server message type that the bookkeeping cares about; a handler may return
// what it learnt (feedback: the points seq it answers), which Connection passes to listeners.
export const RECEIVERS = {
  welcome(s, m) {
    s.welcome = m;
    s.resumeToken = m.resume_token;
  },
  ack(s, m) {
    if (!s.opening && Number.isInteger(m.seq)) s.acknowledge(m.seq);
  },
  feedback(s, m) {
    if (s.opening) return undefined;
    // `seq` names the batch it answers (and acknowledges it); without it (an older server)
    // feedback answers the oldest batch still waiting for one.
    let batch;
    if (Number.isInteger(m.seq)) {
      batch = m.seq;
      s.feedbackDue = s.feedbackDue.filter((seq) => seq > m.seq);
      s.acknowledge(m.seq);
    } else {
      batch = s.feedbackDue.shift();
    }
    return { batch };
  },
  error(s, m) {
    if (!Number.isInteger(m.seq)) {
      if (s.opening) s.inStream = s.opening = false; // the opener itself was refused
      return { resend: false };
    }
    if (s.opening) return { resend: false };
    if (SEQ_KEPT_CODES.has(m.code)) return { resend: true }; // not applied, not used up
    s.acknowledge(m.seq - 1);
    s.kept.delete(m.seq);
    s.feedbackDue = s.feedbackDue.filter((seq) => seq !== m.seq);
    s.ackedSeq = Math.max(s.ackedSeq, m.seq);
    return { resend: false };
  },
  attempt_started(s) {
    s.opening = false;
    s.inStream = true;
  },
  room_joined(s) {
    s.opening = false;
    s.inStream = true;
  },
  attempt_result(s) {
    s.inStream = false;
  },
  final_results(s) {
    s.inStream = false;
  },
  resumed(s, m) {
    s.opening = false;
    s.acknowledge(m.acked_seq);
    // batches applied while we were away: their feedback is lost
    s.feedbackDue = s.feedbackDue.filter((seq) => seq > m.acked_seq);
  },
};

// The device as `hello` declares it, from the pointer type that draws.
export function deviceFor(pointerType) {
  if (pointerType === "pen") return { kind: "stylus", pressure: true, tilt: true, model: "" };
  if (pointerType === "touch") return { kind: "touch", pressure: false, tilt: false, model: "" };
  return { kind: "mouse", pressure: false, tilt: false, model: "" };
}

export class Connection {
  // options: url, token, device, WebSocket (a constructor; the browser's by default),
  // firstDelayMs, maxDelayMs, pingEveryMs, silentLimitMs, timers (setTimeout/clearTimeout)
  constructor(options) {
    this.url = options.url;
    this.token = options.token;
    this.device = options.device;
    this.Socket = options.WebSocket ?? globalThis.WebSocket;
    this.firstDelayMs = options.firstDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 8000;
    this.pingEveryMs = options.pingEveryMs ?? 10000;
    this.silentLimitMs = options.silentLimitMs ?? 30000;
    this.session = new ClientSession();
    this.listeners = new Map();
    this.socket = null;
    this.state = "idle"; // idle | connecting | open | reconnecting | closed
    this.attempts = 0;
    this.closedFor = null;
    this.lastHeard = 0;
    this.nonce = 0;
    this.resendTimer = null;
    this.retryTimer = null;
    this.pingTimer = null;
    this.welcomed = null;
  }

  // listeners -------------------------------------------------------------------------------

  on(type, listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(listener);
    return () => this.listeners.get(type)?.delete(listener);
  }

  emit(type, message, extra) {
    for (const key of [type, "*"]) {
      for (const listener of this.listeners.get(key) ?? []) {
        try {
          listener(message, extra);
        } catch (error) {
          console.warn("inkroom: a listener failed", error);
        }
      }
    }
  }

  // Resolves with the next message of `type` that `predicate` accepts; rejects on an error
  // message (any error unless `errors` is false) or after timeoutMs.
  next(type, { predicate = () => true, timeoutMs = 15000, errors = true } = {}) {
    return new Promise((resolve, reject) => {
      const done = () => (offType(), offError(), clearTimeout(timer));
      const offType = this.on(type, (m) => predicate(m) && (done(), resolve(m)));
      const offError = errors
        ? this.on("error", (m) => (done(), reject(new ServerError(m))))
        : () => {};
      const timer = setTimeout(() => (done(), reject(new Error(`no ${type} in time`))), timeoutMs);
    });
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", { type: "state", state });
  }

  get isOpen() {
    return this.state === "open";
  }

  // connecting ------------------------------------------------------------------------------

  open() {
    if (this.welcomed) return this.welcomed;
    this.welcomed = new Promise((resolve, reject) => {
      this.onFirstWelcome = resolve;
      this.onFirstFailure = reject;
    });
    this.setState("connecting");
    this.connect();
    return this.welcomed;
  }

  connect() {
    const previousToken = this.session.resumeToken;
    let socket;
    try {
      socket = new this.Socket(this.url);
    } catch (error) {
      this.scheduleReconnect();
      return;
    }
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => {
      this.lastHeard = Date.now();
      this.write({ type: "hello", token: this.token, device: this.device });
    };
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      this.lastHeard = Date.now();
      this.handleFrame(event.data, previousToken);
    };
    socket.onclose = (event) => {
      if (socket !== this.socket) return; // a late close of an old socket changes nothing
      this.socket = null;
      this.stopPings();
      this.handleClose(event.code);
    };
    socket.onerror = () => {}; // a close follows
  }

  handleFrame(data, previousToken) {
    let message;
    try {
      message = decode(new Uint8Array(data));
    } catch (error) {
      if (error instanceof MsgpackError) {
        console.warn("inkroom: an undecodable frame from the server", error.message);
        return;
      }
      throw error;
    }
    if (message?.type === "batch" && Array.isArray(message.messages)) {
      // several messages the server had queued for us, in order (docs/protocol.md, Batches)
      for (const inner of message.messages) this.handleMessage(inner, previousToken);
      return;
    }
    this.handleMessage(message, previousToken);
  }

  handleMessage(message, previousToken) {
    if (typeof message?.type !== "string" || message.type === "batch") return;
    const extra = this.session.receive(message);
    if (message.type === "welcome") this.welcomed_(previousToken);
    else if (message.type === "resumed") this.flush();
    else if (message.type === "error") this.afterError(message, extra);
    else if (message.type === "going_away") this.goingAway = message;
    this.emit(message.type, message, extra);
  }

  welcomed_(previousToken) {
    this.attempts = 0;
    this.startPings();
    if (this.session.inStream && previousToken) {
      // the server answers `resumed`, then the missed messages; flush() resends ours
      this.write({ type: "resume", resume_token: previousToken, last_rseq: this.session.lastRseq });
      this.setState("resuming");
    } else {
      this.setState("open");
    }
    if (this.onFirstWelcome) {
      this.onFirstWelcome(this.session.welcome);
      this.onFirstWelcome = this.onFirstFailure = null;
    }
  }

  afterError(message, extra) {
    if (message.code === "resume_failed") {
      this.session.resumeFailed();
      this.setState("open");
      this.emit("resume_failed", message);
      return;
    }
    if (extra?.resend && !this.resendTimer) {
      // rate_limited or bad_seq: resend what is kept, a little later, in order
      this.resendTimer = setTimeout(() => {
        this.resendTimer = null;
        if (this.isOpen) for (const kept of this.session.pending()) this.write(kept);
      }, 250);
    }
  }

  flush() {
    this.setState("open");
    for (const kept of this.session.pending()) this.write(kept);
  }

  handleClose(code) {
    if (this.state === "closed") return;
    if (FATAL_CLOSE_CODES.has(code)) {
      this.closedFor = code;
      this.setState("closed");
      this.onFirstFailure?.(new Error(`the server closed the connection (${code})`));
      return;
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    this.setState("reconnecting");
    const base = Math.min(this.maxDelayMs, this.firstDelayMs * 2 ** this.attempts);
    const hinted = (this.goingAway?.retry_after_s ?? 0) * 1000;
    this.goingAway = null;
    const delay = Math.max(hinted, base * (0.5 + Math.random() / 2));
    this.attempts += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.state !== "closed" && this.connect(), delay);
  }

  startPings() {
    this.stopPings();
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastHeard > this.silentLimitMs) {
        this.drop(); // half-open: the server has gone quiet; reconnect and resume
        return;
      }
      this.write({ type: "ping", nonce: ++this.nonce });
    }, this.pingEveryMs);
  }

  stopPings() {
    clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  // Lose the socket as a network drop would (tests, and the silence watchdog): reconnect and
  // resume follow.
  drop() {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    this.stopPings();
    socket.onclose = socket.onmessage = null;
    try {
      socket.close();
    } catch {
      // already closing
    }
    this.scheduleReconnect();
  }

  close() {
    this.setState("closed");
    this.stopPings();
    clearTimeout(this.retryTimer);
    clearTimeout(this.resendTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = socket.onmessage = null;
      socket.close(1000);
    }
  }

  // sending ---------------------------------------------------------------------------------

  write(message) {
    const socket = this.socket;
    if (!socket || socket.readyState !== 1) return false;
    socket.send(encode(message));
    if (SEQUENCED.has(message.type)) this.session.sent(message);
    return true;
  }

  // An unsequenced message (an opener, ping, leave...). Openers start a new stream.
  send(message) {
    if (!this.isOpen) throw new Error(`not connected: cannot send ${message.type}`);
    if (OPENERS.has(message.type)) this.session.openStream();
    this.write(message);
  }

  // A sequenced message: numbered, kept until acknowledged, sent now if the socket is up.
  sendSeq(message) {
    const numbered = this.session.number(message);
    if (this.isOpen) this.write(numbered);
    return numbered.seq;
  }

  // A batch of rows (Float32Array, 6 columns), split to the server's batch limit; the seqs
  // that carry it (offline, a seq may carry earlier rows too).
  sendPoints(rows) {
    const max = this.session.maxPointsPerBatch * POINT_COLUMNS;
    const seqs = [];
    for (let start = 0; start < rows.length; start += max) {
      const bin = packPoints(rows.subarray(start, Math.min(rows.length, start + max)));
      if (!this.isOpen && this.session.mergePoints(bin)) seqs.push(this.session.nextSeq - 1);
      else seqs.push(this.sendSeq({ type: "points", bin }));
    }
    return seqs;
  }
}

export class ServerError extends Error {
  constructor(message) {
    super(message.message || message.code);
    this.code = message.code;
    this.seq = message.seq ?? null;
  }
}
