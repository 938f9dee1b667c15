// The course catalog (lesson cards, free and VIP marked) and one lesson's page.

import { api, catalog } from "../api.js";
import { h, replace, percent } from "../dom.js";
import { go } from "../live.js";

function badge(lesson) {
  return lesson.access === "vip" ? h("span.badge.vip", {}, "VIP") : h("span.badge.free", {}, "Free");
}

export async function catalogView(main) {
  replace(main, h("h1", {}, "Lessons"), h("p.muted", {}, "Loading…"));
  const [{ courses }, progress] = await Promise.all([
    catalog(),
    api.progress().catch(() => ({ progress: [] })),
  ]);
  const best = new Map(progress.progress.map((p) => [p.lesson_id, p]));
  replace(
    main,
    h("h1", {}, "Lessons"),
    courses.map((course) => [
      h("h2", {}, course.title, " ", h("span.muted", {}, `(${course.level})`)),
      h(
        "div.grid",
        { role: "list" },
        course.lessons.map((lesson) =>
          h(
            "article.card.lesson-card",
            { role: "listitem", dataset: { slug: lesson.slug, access: lesson.access } },
            h("h3", {}, lesson.title),
            h(
              "p.muted",
              {},
              badge(lesson),
              ` ${lesson.steps_count} steps · about ${Math.round(lesson.est_duration_s / 60)} min`,
            ),
            best.has(lesson.id)
              ? h("p", {}, `Best ${percent(best.get(lesson.id).best_score)}`)
              : null,
            h("a.button", { href: `#/lesson/${lesson.slug}` }, "Open"),
          ),
        ),
      ),
    ]),
  );
}

export async function lessonView(main, slug) {
  const { bySlug } = await catalog();
  const summary = bySlug.get(slug);
  if (!summary) {
    replace(main, h("h1", {}, "No such lesson"), h("a", { href: "#/" }, "Back to the lessons"));
    return;
  }
  let lesson = null;
  let locked = null;
  if (summary.access === "vip") {
    // ask who we are first: a refused request would show as an error in the console
    const { user } = await api.me();
    if (!user.subscribed && user.role === "player") locked = "subscribe to open it.";
  }
  if (!locked) ({ lesson } = await api.lesson(slug));
  replace(
    main,
    h("h1", {}, summary.title, " ", badge(summary)),
    h(
      "p.muted",
      {},
      `${summary.steps_count} steps · difficulty ${summary.difficulty} · ${summary.skill_tags.join(", ")}`,
    ),
    locked
      ? h("p.card", { role: "note" }, "This lesson is for VIP members: ", locked)
      : [
          h(
            "div.actions",
            {},
            h("button.primary", { type: "button", id: "start-practice", onclick: () => go(`/practice/${slug}`) }, "Practice"),
            h("button", { type: "button", id: "play-together", onclick: () => go(`/play?lesson=${slug}`) }, "Play together"),
          ),
          h(
            "ol",
            {},
            lesson.steps.map((step) =>
              h("li", {}, `${step.mode} · ${step.targets.length} stroke${step.targets.length > 1 ? "s" : ""}`, step.hint_text ? h("span.muted", {}, ` – ${step.hint_text}`) : null),
            ),
          ),
        ],
  );
}
