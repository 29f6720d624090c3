// What every page shares: the language switch, the connection badge, the little status toasts.
import { api } from "./api.js";
import { applyI18n, lang, onLangChange, setLang, t } from "./i18n.js";
import { h } from "./dom.js";

let signedIn = false;

/** Tell the layout whether someone is signed in (then a language change is saved to the profile). */
export function setSignedIn(value) {
  signedIn = Boolean(value);
}

export function initLayout() {
  applyI18n();
  initMenu();
  const btn = document.getElementById("lang-switch");
  if (btn) {
    const label = () => {
      btn.replaceChildren(h("span", { class: "long", text: t("lang.switch") }),
        h("span", { class: "short", "aria-hidden": "true", text: lang() === "id" ? "EN" : "ID" }));
      btn.setAttribute("aria-label", t("lang.switch.label"));
      btn.lang = lang() === "id" ? "en" : "id";
    };
    label();
    btn.addEventListener("click", async () => {
      setLang(lang() === "id" ? "en" : "id");
      if (signedIn) {
        try {
          await api("PATCH", "/me", { lang: lang() });
        } catch {
          // the page language changed anyway; the profile catches up next time
        }
      }
    });
    onLangChange(label);
  }
}

/** The phone menu: a button that shows the nav; hidden while the nav is empty. */
function initMenu() {
  const toggle = document.getElementById("menu-toggle");
  const nav = document.getElementById("nav");
  if (!toggle || !nav) return;
  const set = (open) => {
    nav.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
  };
  const sync = () => {
    toggle.hidden = nav.children.length === 0;
  };
  toggle.addEventListener("click", () => set(!nav.classList.contains("open")));
  nav.addEventListener("click", (ev) => {
    if (ev.target.closest("a, button")) set(false);
  });
  window.addEventListener("hashchange", () => set(false));
  new MutationObserver(sync).observe(nav, { childList: true });
  sync();
}

let toastBox = null;

/** A short message at the bottom of the screen, read out by screen readers. */
export function toast(text, kind = "info") {
  if (!toastBox) {
    toastBox = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(toastBox);
  }
  const item = h("div", { class: `toast toast-${kind}`, text });
  toastBox.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}
