// The console's frame: the nav (office, name, log out), the view tabs (rooms | knowledge base),
// and the rooms grid (sidebar lists, tab bar, panes). The hash picks the view: #kb… is the
// knowledge base, #rooms (or none) the rooms.
import { $, fill, h } from "../dom.js";
import { t } from "../i18n.js";
import { parseRoute } from "./kb_admin.js";
import { logoutButton } from "./login.js";
import { roomOfHash } from "./panes.js";
import { unreadOf } from "./state.js";

/** The frame of the screen `ui` ({state, queue, mine, panes, ...}). */
export function createShell(ui) {
  const { state } = ui;

  /** Build the whole screen again (after sign-in and after a language change). */
  function render() {
    const { me, offices, kbAdmin } = state;
    const officeSel = me.office ? null : h("select", { id: "office-pick", "aria-label": t("kb.office.label") },
      [...offices.values()].map((o) => h("option", { value: o.code, text: o.name })));
    if (officeSel) {
      officeSel.value = state.office;
      officeSel.addEventListener("change", () => {
        state.office = officeSel.value;
        state.canned = null;
        ui.queue.load();
        if (state.view === "desk") ui.desk.show();
        for (const v of ui.views || []) v.onOffice();
      });
    }
    fill($("#nav"),
      officeSel || h("span", { class: "office-name", text: offices.get(state.office)?.name || state.office || "" }),
      h("span", { class: "who", text: me.name }),
      ui.alerts ? ui.alerts.controls() : null,
      logoutButton());
    const grid = h("div", { class: "console-grid", id: "grid" },
      h("aside", { class: "sidebar", "aria-label": t("console.title") },
        h("section", { class: "side-block", "aria-labelledby": "queue-h" },
          h("h2", { id: "queue-h" }, t("console.queue"), " ", h("span", { class: "count", id: "queue-count" })),
          h("ul", { class: "side-list", id: "queue" })),
        h("section", { class: "side-block", "aria-labelledby": "mine-h" },
          h("h2", { id: "mine-h" }, t("console.mine"), " ", h("span", { class: "count", id: "mine-count" })),
          h("ul", { class: "side-list", id: "mine" }))),
      h("section", { class: "workspace", "aria-label": t("console.mine") },
        h("div", { class: "tabbar" },
          h("button", { type: "button", class: "btn ghost small phone-back", text: `← ${t("console.mine")}`,
            onclick: () => ui.panes.showRoomOnPhone(false) }),
          h("nav", { class: "tabs", id: "tabs", "aria-label": t("console.mine") })),
        h("div", { class: "panes", id: "panes" },
          h("p", { class: "empty muted", id: "panes-empty", text: t("console.none.open") }))));
    const viewTab = (name, href, label, extra) => h("a", { href, class: "view-tab", id: `view-${name}`,
      "aria-current": state.view === name ? "page" : null }, h("span", { text: label }), extra);
    fill($("#main"), h("div", { class: "console-shell" },
      h("nav", { class: "viewbar", "aria-label": t("console.views") },
        viewTab("rooms", "#rooms", t("console.view.rooms"), h("span", { class: "badge unread", id: "view-unread", hidden: true })),
        viewTab("kb", kbAdmin.hash, t("console.view.kb")),
        viewTab("desk", "#desk", t("desk.tab")),
        extraViews().map((v) => viewTab(v.name, v.hash(), v.label()))),
      grid, kbAdmin.el, ui.desk.el, extraViews().map((v) => v.el)));
    for (const v of extraViews()) v.rebuild();
    kbAdmin.render();
    showView(state.view);
    ui.queue.paint();
    ui.mine.paint();
    ui.panes.paintTabs();
  }

  /** Show the rooms ("rooms") or the knowledge base ("kb"). */
  function showView(next) {
    state.view = next;
    const grid = $("#grid");
    if (grid) grid.hidden = state.view !== "rooms";
    if (state.kbAdmin) state.kbAdmin.el.hidden = state.view !== "kb";
    if (state.view === "desk") ui.desk.show();
    else ui.desk.hide();
    for (const v of ui.views || []) {
      if (v.name === state.view) v.show();
      else v.hide();
    }
    for (const name of ["rooms", "kb", "desk", ...extraViews().map((v) => v.name)]) {
      const tab = $(`#view-${name}`);
      if (!tab) continue;
      if (name === state.view) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
    const kbTab = $("#view-kb");
    if (kbTab && state.kbAdmin) kbTab.setAttribute("href", state.kbAdmin.hash);
    ui.panes.layout();
  }

  /** Follow the hash: #kb… is the knowledge base, #rooms (or none) the rooms; other anchors are left alone. */
  function route() {
    if (!state.me || !state.kbAdmin) return;
    const hash = location.hash;
    if (parseRoute(hash)) {
      if (state.view !== "kb") showView("kb");
      state.kbAdmin.go(hash);
    } else if (hash === "#desk") {
      if (state.view !== "desk") showView("desk");
    } else if (viewFor(hash)) {
      const v = viewFor(hash);
      if (state.view !== v.name) showView(v.name);
      v.go(hash);
    } else if (roomOfHash(hash)) {
      ui.panes.open(roomOfHash(hash));
    } else if (!hash || hash === "#" || hash === "#rooms") {
      if (state.view !== "rooms") showView("rooms");
    }
  }

  /** The supervisors' and history views (overview.js, history.js, dashboard.js) this person may use. */
  function extraViews() {
    return (ui.views || []).filter((v) => v.allowed());
  }

  /** The extra view whose address `hash` is, if any. */
  function viewFor(hash) {
    return extraViews().find((v) => v.matches(hash)) || null;
  }

  /** Go to `hash` (routing again when it is already showing). */
  function navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  /** The rooms tab's badge: unread messages over all my rooms. */
  function paintViewBadge() {
    const badge = $("#view-unread");
    if (!badge) return;
    let n = 0;
    for (const id of state.mine.keys()) n += unreadOf(state, id);
    badge.hidden = !n;
    badge.textContent = n ? String(n) : "";
    badge.setAttribute("aria-label", n ? t("list.unread", { n }) : "");
  }

  return { render, showView, route, navigate, paintViewBadge, viewFor };
}
