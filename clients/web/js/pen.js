// Drawing input: Pointer Events on the board's canvas, as wire rows in the lesson's units.
//
// One pointer draws at a time; while a pen is near (or was used in the last second) touches are
// ignored, so a resting palm does not draw. Every coalesced event is kept (a stylus reports at
// 120-240 Hz, faster than frames), and the rows gathered are handed over once per animation
// frame: one `points` message a frame. pressure and tilt are sent only when the connection's
// device declared them (docs/protocol.md: otherwise 0.5 and 0).

const POINTER_KEY = "inkroom.pointer";
const PALM_GUARD_MS = 1000;

export function lastPointerType() {
  return localStorage.getItem(POINTER_KEY) || (matchMedia("(pointer: coarse)").matches ? "touch" : "mouse");
}

export function attachPen(board, { canDraw, device, onBegin, onRows, onEnd }) {
  const canvas = board.canvas;
  let active = null; // {id, type, t0, rect}
  let rows = [];
  let frame = 0;
  let penSeenAt = -Infinity;

  let lastPressure = 0.5;
  const row = (e, lifted = false) => {
    const [x, y] = board.toLesson(e.clientX, e.clientY, active.rect);
    const caps = device();
    const t = Math.max(0, e.timeStamp - active.t0);
    // a lifted pointer reports pressure 0 (PointerEvents): the point keeps the last pressure
    const pressure = !caps.pressure ? 0.5 : lifted ? lastPressure : clamp(e.pressure, 0, 1);
    lastPressure = pressure;
    const tiltX = caps.tilt ? clamp(e.tiltX || 0, -90, 90) : 0;
    const tiltY = caps.tilt ? clamp(e.tiltY || 0, -90, 90) : 0;
    rows.push(x, y, t, pressure, tiltX, tiltY);
  };

  const flush = () => {
    if (!rows.length) return;
    const batch = new Float32Array(rows);
    rows = [];
    onRows(batch);
  };

  const loop = () => {
    flush();
    frame = active ? requestAnimationFrame(loop) : 0;
  };

  const down = (e) => {
    if (e.pointerType === "pen") penSeenAt = e.timeStamp;
    if (active || !canDraw()) return;
    if (e.pointerType === "touch" && e.timeStamp - penSeenAt < PALM_GUARD_MS) return;
    if (e.pointerType === "mouse" && e.button !== 0) return;
    e.preventDefault();
    try {
      canvas.setPointerCapture(e.pointerId);
    } catch {
      // synthetic pointers cannot be captured; the canvas still gets their events
    }
    localStorage.setItem(POINTER_KEY, e.pointerType || "mouse");
    active = { id: e.pointerId, type: e.pointerType, t0: e.timeStamp, rect: canvas.getBoundingClientRect() };
    rows = [];
    onBegin(e.pointerType);
    row(e);
    frame = requestAnimationFrame(loop);
  };

  const move = (e) => {
    if (e.pointerType === "pen") penSeenAt = e.timeStamp;
    if (!active || e.pointerId !== active.id) return;
    e.preventDefault();
    const events = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
    for (const each of events.length ? events : [e]) row(each);
  };

  const up = (e) => {
    if (!active || e.pointerId !== active.id) return;
    if (e.type === "pointerup") {
      const [lastX, lastY] = [rows.at(-6), rows.at(-5)];
      const [x, y] = board.toLesson(e.clientX, e.clientY, active.rect);
      if (lastX !== x || lastY !== y) row(e, true);
    }
    flush();
    active = null;
    cancelAnimationFrame(frame);
    onEnd(e.type === "pointercancel");
  };

  const hover = (e) => {
    if (e.pointerType === "pen") penSeenAt = e.timeStamp;
  };

  canvas.addEventListener("pointerdown", down);
  canvas.addEventListener("pointermove", move);
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  canvas.addEventListener("pointerover", hover);
  canvas.addEventListener("contextmenu", (e) => e.preventDefault());
  canvas.addEventListener("touchstart", (e) => e.preventDefault(), { passive: false });
  return {
    get drawing() {
      return active !== null;
    },
    detach() {
      canvas.removeEventListener("pointerdown", down);
      canvas.removeEventListener("pointermove", move);
      canvas.removeEventListener("pointerup", up);
      canvas.removeEventListener("pointercancel", up);
      canvas.removeEventListener("pointerover", hover);
      cancelAnimationFrame(frame);
    },
  };
}

function clamp(v, lo, hi) {
  return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : (lo + hi) / 2;
}
