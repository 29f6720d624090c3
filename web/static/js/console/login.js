// Signing in to the console and out of it.
import { errorText, signIn, signOut } from "../api.js";
import { $, field, fill, h, say } from "../dom.js";
import { t } from "../i18n.js";

/** Show the staff login form (with `message` above it); `onUser(user)` runs once signed in. */
export function showLogin(message, onUser) {
  const email = h("input", { type: "email", name: "email", required: true, autocomplete: "username" });
  const password = h("input", { type: "password", name: "password", required: true, autocomplete: "current-password" });
  const status = h("p", { class: "form-status", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "btn primary", text: t("auth.login.submit") });
  const form = h("form", { class: "form", id: "login-form" }, field(t("auth.email"), email),
    field(t("auth.password"), password), status, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    say(status, "");
    submit.disabled = true;
    try {
      const user = await signIn(email.value.trim(), password.value);
      onUser(user);
    } catch (err) {
      say(status, errorText(err), "error");
    } finally {
      submit.disabled = false;
    }
  });
  fill($("#main"), h("section", { class: "panel narrow" }, h("h1", { text: t("auth.login.staff.title") }),
    message ? h("p", { class: "notice", text: message }) : null, form));
  fill($("#nav"));
  email.focus();
}

/** The nav's log-out button. */
export function logoutButton() {
  return h("button", { type: "button", class: "btn ghost small", text: t("nav.logout"), onclick: logout });
}

async function logout() {
  try {
    await signOut();
  } catch {
    // forgotten locally either way
  }
  location.reload();
}
