// /verify?token=…: confirm the e-mail address from the link in the verification e-mail.
import { api, errorText } from "./api.js";
import { $, h, say } from "./dom.js";
import { t } from "./i18n.js";
import { initLayout } from "./layout.js";

async function boot() {
  initLayout();
  const status = $("#status");
  const token = new URLSearchParams(location.search).get("token");
  if (!token) {
    say(status, t("verify.missing"), "error");
    return;
  }
  // The token is single-use: keep it out of the address bar and history once read.
  history.replaceState(null, "", location.pathname);
  say(status, t("verify.working"));
  try {
    const user = await api("POST", "/auth/verify", { token });
    say(status, t("verify.ok"), "ok");
    const email = user && user.email ? `?email=${encodeURIComponent(user.email)}` : "";
    $("#next").replaceChildren(h("a", { class: "btn primary", href: `/app/#/login${email}`, text: t("verify.login") }));
  } catch (err) {
    if (err.code === "already_verified") {
      // A second click on the link: nothing is wrong, the address is verified; on to the log-in.
      say(status, t("verify.already"), "ok");
      const email = err.details && err.details.email ? `?email=${encodeURIComponent(err.details.email)}` : "";
      $("#next").replaceChildren(h("a", { class: "btn primary", href: `/app/#/login${email}`, text: t("verify.login") }));
      return;
    }
    say(status, errorText(err), "error");
  }
}

boot();
