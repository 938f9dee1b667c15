// The drawing board: a canvas that shows a step's targets and any number of strokes, all kept in
// the lesson's canvas units (the units the server scores in) and drawn scaled to fit the screen.

export const PALETTE = ["#1f6feb", "#d9480f", "#2b8a3e", "#9c36b5", "#c2255c", "#0c8599", "#e67700", "#5c940d"];
const OFF_COLOUR = "#d7263d";

export class Board {
  constructor(canvas, { width, height }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.width = width;
    this.height = height;
    this.targets = [];
    this.tolerance = 0;
    this.guide = null;
    this.strokes = new Map(); // key -> {colour, xs, ys, ps, off}
    this.pending = false;
    canvas.setAttribute("width", String(width));
    canvas.setAttribute("height", String(height));
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(canvas);
    this.resize();
  }

  destroy() {
    this.observer.disconnect();
  }

  resize() {
    const cssWidth = this.canvas.clientWidth || this.width;
    const ratio = window.devicePixelRatio || 1;
    const pixels = Math.max(1, Math.round(cssWidth * ratio));
    this.canvas.width = pixels;
    this.canvas.height = Math.max(1, Math.round((pixels * this.height) / this.width));
    this.draw();
  }

  // screen (client) coordinates to lesson units
  toLesson(clientX, clientY, rect = this.canvas.getBoundingClientRect()) {
    return [
      ((clientX - rect.left) * this.width) / rect.width,
      ((clientY - rect.top) * this.height) / rect.height,
    ];
  }

  // A step: its targets (polylines, lesson units), tolerance, and guides from the lesson API.
  // An SVG guide is drawn as an image (no script runs in an <img>); without one, the board
  // draws the targets itself.
  setTargets(targets, tolerance, guides = []) {
    this.targets = targets ?? [];
    this.tolerance = tolerance ?? 0;
    this.guide = null;
    this.canvas.dataset.guide = "targets";
    const svg = guides.find((g) => g.content_type === "image/svg+xml" && g.content);
    if (svg) {
      const url = URL.createObjectURL(new Blob([svg.content], { type: "image/svg+xml" }));
      const image = new Image();
      const targetsNow = this.targets;
      image.onload = () => {
        URL.revokeObjectURL(url);
        if (this.targets === targetsNow) {
          this.guide = image;
          this.canvas.dataset.guide = "svg";
          this.schedule();
        }
      };
      image.onerror = () => URL.revokeObjectURL(url);
      image.src = url;
    }
    this.schedule();
  }

  stroke(key, colour) {
    let stroke = this.strokes.get(key);
    if (!stroke) {
      stroke = { colour, xs: [], ys: [], ps: [], off: [] };
      this.strokes.set(key, stroke);
    }
    return stroke;
  }

  // rows: Float32Array of 6-column wire rows
  addRows(key, colour, rows, off = false) {
    const stroke = this.stroke(key, colour);
    const from = stroke.xs.length;
    for (let i = 0; i + 5 < rows.length; i += 6) {
      stroke.xs.push(rows[i]);
      stroke.ys.push(rows[i + 1]);
      stroke.ps.push(rows[i + 3]);
      stroke.off.push(off);
    }
    this.schedule();
    return [from, stroke.xs.length];
  }

  markOff(key, from, to, off) {
    const stroke = this.strokes.get(key);
    if (!stroke) return;
    for (let i = from; i < Math.min(to, stroke.off.length); i++) stroke.off[i] = off;
    this.schedule();
  }

  remove(key) {
    this.strokes.delete(key);
    this.schedule();
  }

  clear(predicate = () => true) {
    for (const key of [...this.strokes.keys()]) if (predicate(key)) this.strokes.delete(key);
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const { ctx, canvas } = this;
    const scale = canvas.width / this.width;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(scale, 0, 0, scale, 0, 0);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    this.drawTargets(ctx);
    if (this.guide) ctx.drawImage(this.guide, 0, 0, this.width, this.height);
    for (const stroke of this.strokes.values()) this.drawStroke(ctx, stroke);
  }

  drawTargets(ctx) {
    for (const target of this.targets) {
      if (!target.length) continue;
      ctx.beginPath();
      target.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.strokeStyle = "rgba(31, 58, 95, 0.10)";
      ctx.lineWidth = Math.max(2, this.tolerance * 2);
      ctx.stroke();
      if (this.guide) continue;
      ctx.setLineDash([10, 8]);
      ctx.strokeStyle = "rgba(31, 58, 95, 0.45)";
      ctx.lineWidth = 2;
      ctx.stroke();
      ctx.setLineDash([]);
      const [sx, sy] = target[0];
      ctx.fillStyle = "#2b8a3e";
      ctx.beginPath();
      ctx.arc(sx, sy, 7, 0, 2 * Math.PI);
      ctx.fill();
      const [ex, ey] = target.at(-1);
      ctx.strokeStyle = "rgba(31, 58, 95, 0.6)";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(ex, ey, 6, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }

  drawStroke(ctx, stroke) {
    const { xs, ys, ps, off } = stroke;
    if (xs.length === 1) {
      ctx.fillStyle = off[0] ? OFF_COLOUR : stroke.colour;
      ctx.beginPath();
      ctx.arc(xs[0], ys[0], 2.5, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    for (let i = 1; i < xs.length; i++) {
      ctx.strokeStyle = off[i] ? OFF_COLOUR : stroke.colour;
      ctx.lineWidth = 2 + 4 * Math.min(1, Math.max(0, ps[i]));
      ctx.beginPath();
      ctx.moveTo(xs[i - 1], ys[i - 1]);
      ctx.lineTo(xs[i], ys[i]);
      ctx.stroke();
    }
  }
}
