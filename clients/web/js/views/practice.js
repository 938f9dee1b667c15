// Solo practice: the step's guide on the board, drawing with live feedback, the stroke's scores,
// undo / retry / hint / finish / next, the step's and the attempt's results.

import { api } from "../api.js";
import { Board, PALETTE } from "../board.js";
import { h, replace, percent } from "../dom.js";
import { live } from "../live.js";
import { attachPen } from "../pen.js";

const MINE = PALETTE[0];

export function feedbackList(items) {
  if (!items?.length) return null;
  return h("ul.feedback-list", {}, items.map((f) => h("li", { dataset: { code: f.code } }, f.message)));
}

export async function practiceView(main, slug) {
  replace(main, h("h1", {}, "Practice"), h("p.muted", {}, "Loading the lesson…"));
  const { lesson } = await api.lesson(slug);
  const lessonProgress = async () =>
    (await api.progress()).progress.find((p) => p.lesson_slug === slug) ?? null;
  let attemptsBefore = (await lessonProgress().catch(() => null))?.attempts_count ?? 0;
  const conn = await live();

  const canvas = h("canvas.board", { id: "board", "aria-label": "Drawing board", tabindex: "0", dataset: { strokes: "0", scored: "0" } });
  const title = h("h1", {}, lesson.title);
  const stepLabel = h("p.muted", { id: "step-label" }, "Starting…");
  const meter = h("div.meter", { id: "live-meter", role: "progressbar", "aria-label": "Stroke progress", "aria-valuemin": "0", "aria-valuemax": "100" }, h("span"));
  const liveText = h("p.muted", { id: "live-text" }, "Draw along the guide, from the green dot.");
  const scores = h("ol.scores", { id: "stroke-scores", "aria-live": "polite" });
  const hint = h("p.card.hint", { id: "hint-text", hidden: true });
  const stepResult = h("div", { id: "step-result" });
  const problems = h("p.error", { role: "alert", id: "problems" });
  const button = (id, label, onclick, primary = false) =>
    h(primary ? "button.primary" : "button", { type: "button", id, onclick, disabled: true }, label);
  const undo = button("undo", "Undo", () => send("undo"));
  const retry = button("retry", "Retry step", () => send("retry"));
  const hintButton = button("hint", "Hint", () => send("hint"));
  const finish = button("finish-step", "Finish step", () => send("step_end"), true);
  const next = button("next-step", "Next step", () => send("next_step"), true);
  replace(
    main,
    title,
    stepLabel,
    h(
      "div.stage",
      {},
      h("div.board-wrap", {}, canvas),
      h(
        "section.panel.card",
        { "aria-label": "Feedback" },
        h("div.actions", {}, finish, next, undo, retry, hintButton),
        meter,
        liveText,
        hint,
        h("h2", {}, "Strokes"),
        scores,
        stepResult,
        problems,
      ),
    ),
  );
  const board = new Board(canvas, lesson.canvas);

  let step = -1;
  let stepDone = true;
  let finished = false;
  let strokeKey = null;
  let strokeCount = 0; // strokes begun in this step (keys)
  const kept = []; // keys of the finished strokes of this step
  const batches = new Map(); // points seq -> [stroke key, from, to]

  const refresh = () => {
    const drawingAllowed = !stepDone && !finished;
    undo.disabled = !drawingAllowed || (!kept.length && !strokeKey);
    hintButton.disabled = !drawingAllowed;
    finish.disabled = !drawingAllowed;
    retry.disabled = finished || step < 0;
    next.disabled = !stepDone || finished || step < 0;
    canvas.dataset.strokes = String(kept.length);
  };

  function send(type) {
    conn.sendSeq({ type });
    if (type === "undo") {
      if (strokeKey) board.remove(strokeKey);
      else if (kept.length) {
        board.remove(kept.pop());
        scores.lastElementChild?.remove();
      }
      strokeKey = null;
    }
    if (type === "step_end") {
      if (strokeKey) board.remove(strokeKey);
      strokeKey = null;
      stepDone = true;
    }
    if (type === "next_step" || type === "retry") next.disabled = true;
    refresh();
  }

  const pen = attachPen(board, {
    canDraw: () => !stepDone && !finished,
    device: () => conn.device,
    onBegin: () => {
      strokeKey = `me-${step}-${strokeCount++}`;
      board.stroke(strokeKey, MINE);
      conn.sendSeq({ type: "stroke_begin" });
      refresh();
    },
    onRows: (rows) => {
      if (!strokeKey) return;
      const [from, to] = board.addRows(strokeKey, MINE, rows);
      for (const seq of conn.sendPoints(rows)) {
        const known = batches.get(seq);
        batches.set(seq, [strokeKey, known ? known[1] : from, to]);
      }
    },
    onEnd: () => {
      if (!strokeKey) return;
      kept.push(strokeKey);
      strokeKey = null;
      conn.sendSeq({ type: "stroke_end" });
      refresh();
    },
  });

  const offs = [
    conn.on("step_started", (m) => {
      step = m.step;
      stepDone = false;
      kept.length = 0;
      strokeKey = null;
      batches.clear();
      board.clear();
      const spec = lesson.steps[m.step];
      board.setTargets(spec.targets, spec.tolerance, spec.guides);
      stepLabel.textContent = `Step ${m.step + 1} of ${lesson.steps.length} · ${spec.mode}`;
      replace(scores);
      replace(stepResult);
      hint.hidden = true;
      canvas.dataset.step = String(m.step);
      meter.firstChild.style.width = "0";
      meter.classList.remove("off");
      liveText.textContent = "Draw along the guide, from the green dot.";
      refresh();
    }),
    conn.on("feedback", (m, extra) => {
      const batch = batches.get(extra?.batch);
      if (batch) {
        board.markOff(batch[0], batch[1], batch[2], m.off_path);
        batches.delete(extra.batch);
      }
      meter.firstChild.style.width = `${Math.round(m.progress * 100)}%`;
      meter.setAttribute("aria-valuenow", String(Math.round(m.progress * 100)));
      meter.classList.toggle("off", m.off_path);
      liveText.textContent = m.off_path
        ? `Off the guide by ${m.deviation.toFixed(0)}: come back to the line`
        : `On the guide · ${Math.round(m.progress * 100)}% covered`;
    }),
    conn.on("stroke_score", (m) => {
      if (m.step !== step) return;
      scores.append(
        h(
          "li",
          { dataset: { total: String(m.total) } },
          h("span.score", {}, percent(m.total)),
          ` accuracy ${percent(m.accuracy)}, quality ${percent(m.quality)}`,
          m.target === null ? h("span.muted", {}, " (extra stroke)") : null,
          feedbackList(m.feedback),
        ),
      );
      canvas.dataset.scored = String(Number(canvas.dataset.scored) + 1);
    }),
    conn.on("hint_text", (m) => {
      hint.hidden = false;
      hint.textContent = m.text;
    }),
    conn.on("step_result", (m) => {
      stepDone = true;
      const s = m.score;
      replace(
        stepResult,
        h(
          `div.card.result${s.passed ? "" : ".failed"}`,
          { id: "step-score", dataset: { total: String(s.total), passed: String(s.passed) } },
          h("strong", {}, `Step ${s.step + 1}: ${percent(s.total)} `, s.passed ? "· passed" : "· not yet"),
          h("p.muted", {}, `accuracy ${percent(s.accuracy)} · quality ${percent(s.quality)} · ${s.strokes} stroke(s)`),
          feedbackList(s.feedback),
        ),
      );
      next.textContent = step + 1 >= lesson.steps.length ? "See the result" : "Next step";
      refresh();
      next.focus();
    }),
    conn.on("attempt_result", async (m) => {
      finished = true;
      refresh();
      const result = h(
        `div.card.result${m.passed ? "" : ".failed"}`,
        { id: "attempt-result", dataset: { total: String(m.total) } },
        h("h2", {}, `Lesson ${m.passed ? "passed" : "done"}: ${percent(m.total)}`),
        h("table", {}, h("tr", {}, h("th", {}, "Step"), h("th", {}, "Score"), h("th", {}, "")),
          m.steps.map((s) => h("tr", {}, h("td", {}, String(s.step + 1)), h("td", {}, percent(s.total)), h("td", {}, s.passed ? "passed" : "")))),
        h("p", { id: "progress" }, "…"),
        h("div.actions", {}, h("button.primary", { type: "button", id: "again", onclick: again }, "Practice again"), h("a.button", { href: "#/replays" }, "Replays")),
      );
      replace(stepResult, result);
      // the server stores the attempt's end a moment later: ask until it counts this attempt
      const line = result.querySelector("#progress");
      line.textContent = "Saving your progress…";
      for (let tries = 0; tries < 10; tries++) {
        const mine = await lessonProgress().catch(() => null);
        if (mine && mine.attempts_count > attemptsBefore) {
          line.textContent = `Your progress: best ${percent(mine.best_score)}, last ${percent(mine.last_score)}, ${mine.attempts_count} attempt(s)`;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      line.textContent = "Your progress will show on the lessons page.";
    }),
    conn.on("error", (m) => {
      problems.textContent = `${m.code}: ${m.message}`;
    }),
    conn.on("resume_failed", () => {
      problems.textContent = "The connection was lost for too long: this attempt cannot continue. Start again.";
      finished = true;
      refresh();
    }),
  ];

  async function again() {
    attemptsBefore = (await lessonProgress().catch(() => null))?.attempts_count ?? attemptsBefore;
    finished = false;
    replace(stepResult);
    conn.send({ type: "start_attempt", lesson: slug });
  }

  conn.send({ type: "start_attempt", lesson: slug });
  return () => {
    for (const off of offs) off();
    pen.detach();
    board.destroy();
  };
}
