// Open rooms: panes side by side (four on a very wide screen, three on a wide one, two on a medium
// one, one on a phone, where the lists and the room take turns) and the tab bar of every room opened.
import { errorText } from "../api.js";
import { ChatRoom } from "../chat.js";
import { $, fill, h } from "../dom.js";
import { t } from "../i18n.js";
import { unreadBadge } from "./badges.js";
import { OBJECT_ID, tzOf, unreadOf } from "./state.js";

const XWIDE = window.matchMedia("(min-width: 1800px)");
const WIDE = window.matchMedia("(min-width: 1280px)");
const MEDIUM = window.matchMedia("(min-width: 900px)");
// A room's address in the console: #/c/<id> (the history's read-only record is #c/<id>).
const ROOM_HASH = /^#\/c\/([a-f0-9]{24})$/i;
const OPEN_KEY = "pst.console.open";

/** The room id of a console address (#/c/<id>), or null. */
export function roomOfHash(hash) {
  const m = ROOM_HASH.exec(hash || "");
  return m ? m[1].toLowerCase() : null;
}

function visibleCount() {
  return XWIDE.matches ? 4 : WIDE.matches ? 3 : MEDIUM.matches ? 2 : 1;
}

/** The panes of the screen `ui` (state.panes, state.opened, state.recent, state.phoneShowsRoom). */
export function createPanes(ui) {
  const { state } = ui;
  let restored = false; // until restore() ran, the address is the one the page was opened with
  XWIDE.addEventListener("change", () => layout());
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
    address();
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

  /** The address bar names the current room (#/c/<id>), or the rooms view when none is open. */
  function address() {
    if (!restored) return; // the address may still name the room to open
    const hash = state.recent[0] ? `#/c/${state.recent[0]}` : "#rooms";
    if (state.view === "rooms" && location.hash !== hash) history.replaceState(null, "", hash);
  }

  /** Remember which rooms are open, in order, so a reload brings them back (this browser only). */
  function remember() {
    if (!state.me) return;
    try {
      localStorage.setItem(`${OPEN_KEY}.${state.me.id}`, JSON.stringify({ opened: state.opened, recent: state.recent }));
    } catch {
      // not remembered: the rooms stay open until the page reloads
    }
  }

  /** Open room `id` (or bring it forward) and put the cursor in its composer. */
  function open(id, { focus = true } = {}) {
    if (!OBJECT_ID.test(id)) return;
    if (state.view !== "rooms") {
      if (location.hash !== `#/c/${id}`) history.pushState(null, "", `#/c/${id}`);
      ui.shell.showView("rooms");
    }
    if (!state.panes.has(id)) create(id);
    state.recent = [id, ...state.recent.filter((x) => x !== id)];
    state.phoneShowsRoom = true;
    $("#grid")?.classList.toggle("show-room", true);
    layout();
    address();
    remember();
    const pane = state.panes.get(id);
    if (focus) setTimeout(() => pane.room.input.focus({ preventScroll: true }), 0);
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
    address();
    remember();
  }

  /** After sign-in: the rooms open before the reload, in their order, then the one the address names. */
  function restore() {
    let saved = null;
    try {
      saved = JSON.parse(localStorage.getItem(`${OPEN_KEY}.${state.me.id}`) || "null");
    } catch {
      saved = null;
    }
    const wanted = roomOfHash(location.hash);
    restored = true;
    const ids = (saved && Array.isArray(saved.opened) ? saved.opened : []).filter((id) => OBJECT_ID.test(id));
    for (const id of ids) if (!state.panes.has(id)) create(id);
    const recent = (saved && Array.isArray(saved.recent) ? saved.recent : []).filter((id) => state.panes.has(id));
    state.recent = [...recent, ...ids.filter((id) => !recent.includes(id))];
    if (wanted) open(wanted, { focus: false });
    else if (state.panes.size) {
      // On a phone the lists come first after a reload; on a wider screen the rooms show beside them.
      state.phoneShowsRoom = false;
      layout();
      if (state.view === "rooms") address();
    }
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
        address();
        remember();
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
    remember();
    showRoomOnPhone(state.phoneShowsRoom && state.panes.size > 0);
  }

  return { layout, paintTabs, open, close, showRoomOnPhone, rebuild, restore };
}
