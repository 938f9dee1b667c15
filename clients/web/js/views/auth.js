// Sign up and log in.

import { api, auth } from "../api.js";
import { h, replace } from "../dom.js";
import { go } from "../live.js";

function form(main, { title, fields, submit, other, onSubmit }) {
  const error = h("p.error", { role: "alert", id: "form-error" });
  const inputs = Object.fromEntries(
    fields.map(([name, label, type, autocomplete]) => [
      name,
      h("input", { id: `f-${name}`, name, type, autocomplete, required: true }),
    ]),
  );
  const button = h("button.primary", { type: "submit", id: "submit" }, submit);
  const el = h(
    "form.card",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        button.disabled = true;
        error.textContent = "";
        try {
          await onSubmit(Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value])));
        } catch (failure) {
          const reasons = failure.details?.reasons?.map((r) => r.message).join("; ");
          error.textContent = reasons ? `${failure.message}: ${reasons}` : failure.message;
        } finally {
          button.disabled = false;
        }
      },
    },
    fields.map(([name, label]) => [h("label", { for: `f-${name}` }, label), inputs[name]]),
    error,
    h("div.actions", {}, button),
    h("p.muted", {}, other),
  );
  replace(main, h("h1", {}, title), el);
  inputs[fields[0][0]].focus();
}

export function loginView(main) {
  form(main, {
    title: "Log in",
    fields: [
      ["email", "Email", "email", "username"],
      ["password", "Password", "password", "current-password"],
    ],
    submit: "Log in",
    other: ["New here? ", h("a", { href: "#/signup" }, "Sign up")],
    onSubmit: async ({ email, password }) => {
      const { token, user } = await api.login(email, password);
      auth.save(token, user);
      go("/");
    },
  });
}

export function signupView(main) {
  form(main, {
    title: "Sign up",
    fields: [
      ["name", "Your name", "text", "nickname"],
      ["email", "Email", "email", "username"],
      ["password", "Password (10+ characters, two kinds)", "password", "new-password"],
    ],
    submit: "Create my account",
    other: ["Have an account? ", h("a", { href: "#/login" }, "Log in")],
    onSubmit: async ({ name, email, password }) => {
      const { token, user } = await api.signup(email, password, name);
      auth.save(token, user);
      go("/");
    },
  });
}
