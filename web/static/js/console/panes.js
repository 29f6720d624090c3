// Open rooms: panes side by side (three on a wide screen, two on a medium one, one on a phone,
// where the lists and the room take turns) and the tab bar of every room opened.
import { errorText } from "../api.js";
import { ChatRoom } from "../chat.js";
import { $, fill, h } from "../dom.js";
import { t } from "../i18n.js";
import { unreadBadge } from "./badges.js";
import { OBJECT_ID, tzOf, unreadOf } from "./state.js";

const WIDE = window.matchMedia("(min-width: 1280px)");
const MEDIUM = window.matchMedia("(min-width: 900px)");

function visibleCount() {
  return WIDE.matches ? 3 : MEDIUM.matches ? 2 : 1;
}

/** The panes of the screen `ui` (state.panes, state.opened, state.recent, state.phoneShowsRoom). */
export function createPanes(ui) {
  const { state } = ui;
  WIDE.addEventListener("change", () => layout());
  MEDIUM.addEventListener("change", () => layout());

  /** Show the most recent rooms that fit; the others stay open in their tabs. */
  function layout() {
    const n = visibleCount();
    // On a phone the lists and the room take turns: a room behind the list is not being read.
    // Nor is one behind the knowledge base.
    const visible = new Set(state.view === "rooms" && (MEDIUM.matches || state.phoneShowsRoom)
      ? state.recent.slice(0, n) : []);
    for (const [id, pane] of state.panes) {
      pane.visible = visible.has(id);
      pane.el.hidden = !pane.visible;
      pane.room.setActive(pane.visible);
    }
    const box = $("#panes");
    if (box) {
      box.dataset.count = String(Math.min(n, state.panes.size));
      $("#panes-empty").hidden = state.panes.size > 0;
    }
    paintTabs();
    ui.mine.paint();
  }

  function paintTabs() {
    const nav = $("#tabs");
    if (!nav) return;
    fill(nav, state.opened.map((id) => {
      const pane = state.panes.get(id);
      const c = pane.room.c || state.mine.get(id) || {};
      const name = c.user?.name || c.number || "…";
      const n = unreadOf(state, id);
      return h("div", { class: `tab${pane.visible ? " is-visible" : ""}${state.recent[0] === id ? " is-current" : ""}` },
        h("button", { type: "button", class: "tab-btn", "aria-pressed": String(Boolean(pane.visible)), onclick: () => open(id) },
          h("span", { class: "tab-name", text: name }), unreadBadge(n, t("room.newmsg"))),
        h("button", { type: "button", class: "tab-x", "aria-label": t("console.close.tab", { name }), text: "×",
          onclick: () => close(id) }));
    }));
  }

  /** Open room `id` (or bring it forward) and put the cursor in its composer. */
  function open(id) {
    if (!OBJECT_ID.test(id)) return;
    if (state.view !== "rooms") {
      history.pushState(null, "", "#rooms");
      ui.shell.showView("rooms");
    }
    if (!state.panes.has(id)) create(id);
    state.recent = [id, ...state.recent.filter((x) => x !== id)];
    state.phoneShowsRoom = true;
    $("#grid")?.classList.toggle("show-room", true);
    layout();
    const pane = state.panes.get(id);
    setTimeout(() => pane.room.input.focus({ preventScroll: true }), 0);
  }

  function close(id) {
    const pane = state.panes.get(id);
    if (!pane) return;
    state.hub.remove(id);
    pane.el.remove();
    state.panes.delete(id);
    state.opened = state.opened.filter((x) => x !== id);
    state.recent = state.recent.filter((x) => x !== id);
    if (!state.panes.size) showRoomOnPhone(false);
    layout();
  }

  /** A pane for room `id`, joined through the hub; not yet shown (layout() decides). */
  function create(id) {
    const cannedBtn = h("button", { type: "button", class: "btn ghost small", text: t("console.canned") });
    const room = new ChatRoom({ socket: state.socket, id, me: state.me, staff: true, tz: tzOf(state, state.mine.get(id)),
      tools: [cannedBtn],
      onConsultation: (c) => {
        room.tz = tzOf(state, c);
        ui.roomHead.paint(room, c);
        if (state.mine.has(c.id) || (c.assigned_to && c.assigned_to.id === state.me.id)) ui.mine.upsert(c);
        paintTabs();
      },
      onSeen: (seq) => ui.mine.setRead(id, seq) });
    cannedBtn.addEventListener("click", () => ui.canned.pick(room));
    ui.canned.attach(room);
    const el = h("div", { class: "pane", dataset: { id } }, room.el);
    el.addEventListener("focusin", () => {
      if (state.recent[0] !== id) {
        state.recent = [id, ...state.recent.filter((x) => x !== id)];
        paintTabs();
      }
    });
    state.panes.set(id, { room, el, visible: false });
    state.opened.push(id);
    $("#panes").append(el);
    state.hub.add(room).catch((err) => {
      room.log.prepend(h("p", { class: "error", role: "alert", text: errorText(err) }));
    });
  }

  /** On a phone: show the room (true) or the lists (false). */
  function showRoomOnPhone(on) {
    const changed = state.phoneShowsRoom !== on;
    state.phoneShowsRoom = on;
    $("#grid")?.classList.toggle("show-room", on);
    if (changed && !MEDIUM.matches) layout();
  }

  /** Build every pane again in the current language, keeping which rooms are open and their order. */
  function rebuild(renderShell) {
    const keep = { opened: [...state.opened], recent: [...state.recent] };
    for (const id of keep.opened) close(id);
    renderShell();
    for (const id of keep.opened) create(id);
    state.recent = keep.recent;
    layout();
    showRoomOnPhone(state.phoneShowsRoom && state.panes.size > 0);
  }

  return { layout, paintTabs, open, close, showRoomOnPhone, rebuild };
}
