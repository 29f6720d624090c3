// The guest pass (/guestbook-qr): a signed code, valid a few minutes, that the kiosk scans to fill
// the guest book with this account's details. Renewed before it expires while the page is open.
import { api, currentUser } from "../api.js";
import { $, fill, h } from "../dom.js";
import { applyI18n, t } from "../i18n.js";
import { qrSvg } from "./qr.js";

const RENEW_MS = 4 * 60 * 1000;

async function show() {
  const out = await api("GET", "/me/guestbook-qr");
  fill(
    $("#pass-main"),
    h("h1", { text: t("pass.title") }),
    h("p", { class: "k-lead", text: t("pass.lead") }),
    h("div", { class: "pass-qr", id: "pass-qr", dataset: { token: out.token } }, qrSvg(out.token, t("pass.title"))),
    h("p", { class: "muted small", text: t("pass.expires") }),
  );
}

async function start() {
  applyI18n();
  const user = await currentUser().catch(() => null);
  if (!user) {
    fill($("#pass-main"), h("p", {}, t("pass.signin"), " ", h("a", { href: "/app/#/login", text: t("nav.login") })));
    return;
  }
  await show();
  setInterval(() => void show().catch(() => {}), RENEW_MS);
}

void start();
