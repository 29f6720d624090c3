// /reset?token=…: choose a new password with the token from the reset e-mail.
import { api, errorText, forgetSession } from "./api.js";
import { $, h, say } from "./dom.js";
import { t } from "./i18n.js";
import { initLayout } from "./layout.js";

function boot() {
  initLayout();
  const status = $("#status");
  const form = $("#reset-form");
  const token = new URLSearchParams(location.search).get("token");
  if (!token) {
    form.hidden = true;
    say(status, t("reset.missing"), "error");
    return;
  }
  history.replaceState(null, "", location.pathname);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    say(status, "");
    const password = $("#password").value;
    if (password !== $("#password2").value) {
      say(status, t("auth.mismatch"), "error");
      return;
    }
    if (!form.reportValidity()) return;
    const btn = form.querySelector("button[type=submit]");
    btn.disabled = true;
    try {
      await api("POST", "/auth/password-reset/confirm", { token, password });
      forgetSession(); // every session ended with the old password
      form.hidden = true;
      say(status, t("reset.ok"), "ok");
      $("#next").replaceChildren(h("a", { class: "btn primary", href: "/app/#/login", text: t("verify.login") }));
    } catch (err) {
      say(status, errorText(err), "error");
    } finally {
      btn.disabled = false;
    }
  });
}

boot();
