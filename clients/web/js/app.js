// The web client's shell: a hash router, the navigation, and the one live connection.

import { auth } from "./api.js";
import { h, replace } from "./dom.js";
import { closeLive, go } from "./live.js";
import { loginView, signupView } from "./views/auth.js";
import { catalogView, lessonView } from "./views/catalog.js";
import { practiceView } from "./views/practice.js";
import { playView, roomView } from "./views/room.js";
import { replaysView, attemptReplayView, roomReplayView } from "./views/replays.js";

const ROUTES = [
  [/^\/login$/, loginView, false],
  [/^\/signup$/, signupView, false],
  [/^\/$/, catalogView, true],
  [/^\/lesson\/([\w-]+)$/, lessonView, true],
  [/^\/practice\/([\w-]+)$/, practiceView, true],
  [/^\/play$/, playView, true],
  [/^\/room$/, roomView, true],
  [/^\/replays$/, replaysView, true],
  [/^\/replay\/attempt\/([\w-]+)$/, attemptReplayView, true],
  [/^\/replay\/room\/([\w-]+)\/(\d+)$/, roomReplayView, true],
];

let cleanup = null;

function renderNav(path) {
  const nav = document.getElementById("nav");
  const link = (href, text) =>
    h("a", { href: `#${href}`, "aria-current": path === href ? "page" : null }, text);
  if (auth.token) {
    replace(
      nav,
      link("/", "Lessons"),
      link("/play", "Play together"),
      link("/replays", "Replays"),
      h("button", {
        type: "button",
        id: "logout",
        onclick: () => {
          auth.clear();
          closeLive();
          go("/login");
        },
      }, "Log out"),
    );
  } else {
    replace(nav, link("/login", "Log in"), link("/signup", "Sign up"));
  }
}

async function route() {
  const path = (location.hash.replace(/^#/, "") || "/").split("?")[0] || "/";
  const main = document.getElementById("main");
  if (cleanup) {
    try {
      cleanup();
    } catch (error) {
      console.warn("inkroom: leaving a view failed", error);
    }
    cleanup = null;
  }
  for (const [pattern, view, needsAuth] of ROUTES) {
    const match = path.match(pattern);
    if (!match) continue;
    if (needsAuth && !auth.token) {
      go("/login");
      return;
    }
    renderNav(path);
    main.replaceChildren();
    try {
      cleanup = (await view(main, ...match.slice(1).map(decodeURIComponent))) ?? null;
    } catch (error) {
      replace(main, h("h1", {}, "Something went wrong"), h("p.error", { role: "alert" }, error.message));
    }
    return;
  }
  renderNav(path);
  replace(main, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Back to the lessons")));
}

window.addEventListener("hashchange", route);
route();
