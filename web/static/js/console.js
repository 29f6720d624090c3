// The officer console (/console/): the office queue, my rooms with live badges, several rooms open
// side by side, notes, canned responses, transfer, close, clarification, escalation, delivery log;
// and the knowledge base (#kb…, see kb_admin.js), with drafts made from closed consultations.
import { api, currentUser, errorText, forgetSession, offices, signIn, signOut } from "./api.js";
import { ChatRoom, RoomHub, refusedForAuth } from "./chat.js";
import { $, confirmModal, externalLink, field, fill, h, modal, say } from "./dom.js";
import * as fmt from "./fmt.js";
import { chosenHere, lang, onLangChange, setLang, t } from "./i18n.js";
import * as kb from "./kb.js";
import { KbAdmin, parseRoute } from "./kb_admin.js";
import { initLayout, setSignedIn, toast } from "./layout.js";
import { openSocket } from "./rt.js";

const STAFF_ROLES = new Set(["officer", "supervisor", "admin"]);
const OBJECT_ID = /^[a-f0-9]{24}$/i;
const WIDE = window.matchMedia("(min-width: 1280px)");
const MEDIUM = window.matchMedia("(min-width: 900px)");

const main = $("#main");
let me = null;
let office = null; // the office code whose queue is shown
let officeMap = new Map();
let socket = null;
let hub = null;
let queue = []; // consultations
const mine = new Map(); // id -> consultation (assigned to me, active)
const readSeq = new Map(); // id -> how far I have read
const panes = new Map(); // id -> {room, el, tab}
let opened = []; // pane ids in the order they were opened
let recent = []; // pane ids, most recently activated first
let phoneShowsRoom = false;
let canned = null; // the office's canned responses (loaded on first use)
let view = "rooms"; // which view shows: "rooms" (queue and rooms) or "kb" (the knowledge base)
let kbAdmin = null;

// --- small helpers ----------------------------------------------------------------------------

function tzOf(c) {
  return (c && (c.time_zone || officeMap.get(c.office)?.time_zone)) || "Asia/Jakarta";
}

function plainError(err) {
  // Escalation endpoints explain themselves; their message is shown as written.
  if (err && err.message && err.status && err.status !== 401 && err.code !== "network") return err.message;
  return errorText(err);
}

function slaBadge(c) {
  const sla = c.sla || {};
  const state = c.status === "closed" ? null : sla.paused ? "paused" : sla.state || "on_track";
  if (!state) return null;
  let text = t(`console.sla.${state}`);
  if (sla.due_at && state !== "met") text += ` · ${t("console.sla.due", { date: fmt.shortDateTime(sla.due_at, tzOf(c)) })}`;
  return h("span", { class: `badge sla sla-${state}`, text });
}

function unreadOf(id) {
  const c = mine.get(id);
  if (!c) return 0;
  const pane = panes.get(id);
  if (pane && pane.visible && document.visibilityState === "visible") return 0;
  const seen = Math.max(readSeq.get(id) || 0, (c.reads && c.reads[me.id]) || 0);
  return Math.max(0, (c.last_seq || 0) - seen);
}

function unreadBadge(n, label) {
  if (!n) return null;
  return h("span", { class: "badge unread", "aria-label": `${n} ${label || ""}`.trim(), text: String(n) });
}

function lastLine(c) {
  const lm = c.last_message;
  if (!lm || !lm.text) return "";
  const who = lm.kind === "note" ? `${t("room.note")} · ` : lm.author_name ? `${lm.author_name}: ` : "";
  return who + lm.text;
}

function setConnection(online) {
  const el = $("#conn");
  if (!el) return;
  el.hidden = online;
  el.textContent = online ? "" : t("room.offline");
}

// --- sign-in ----------------------------------------------------------------------------------

function viewLogin(message) {
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
      start(user);
    } catch (err) {
      say(status, errorText(err), "error");
    } finally {
      submit.disabled = false;
    }
  });
  fill(main, h("section", { class: "panel narrow" }, h("h1", { text: t("auth.login.staff.title") }),
    message ? h("p", { class: "notice", text: message }) : null, form));
  fill($("#nav"));
  email.focus();
}

async function logout() {
  try {
    await signOut();
  } catch {
    // forgotten locally either way
  }
  location.reload();
}

// --- layout -----------------------------------------------------------------------------------

function renderShell() {
  const officeSel = me.office ? null : h("select", { id: "office-pick", "aria-label": t("kb.office.label") },
    [...officeMap.values()].map((o) => h("option", { value: o.code, text: o.name })));
  if (officeSel) {
    officeSel.value = office;
    officeSel.addEventListener("change", () => {
      office = officeSel.value;
      canned = null;
      loadQueue();
    });
  }
  fill($("#nav"),
    officeSel || h("span", { class: "office-name", text: officeMap.get(office)?.name || office || "" }),
    h("span", { class: "who", text: me.name }),
    h("button", { type: "button", class: "btn ghost small", text: t("nav.logout"), onclick: logout }));
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
          onclick: () => showRoomOnPhone(false) }),
        h("nav", { class: "tabs", id: "tabs", "aria-label": t("console.mine") })),
      h("div", { class: "panes", id: "panes" },
        h("p", { class: "empty muted", id: "panes-empty", text: t("console.none.open") }))));
  const viewTab = (name, href, label, extra) => h("a", { href, class: "view-tab", id: `view-${name}`,
    "aria-current": view === name ? "page" : null }, h("span", { text: label }), extra);
  fill(main, h("div", { class: "console-shell" },
    h("nav", { class: "viewbar", "aria-label": t("console.views") },
      viewTab("rooms", "#rooms", t("console.view.rooms"), h("span", { class: "badge unread", id: "view-unread", hidden: true })),
      viewTab("kb", kbAdmin.hash, t("console.view.kb"))),
    grid, kbAdmin.el));
  kbAdmin.render();
  showView(view);
  paintQueue();
  paintMine();
  paintTabs();
}

// --- views: rooms or the knowledge base ---------------------------------------------------------

function showView(next) {
  view = next;
  const grid = $("#grid");
  if (grid) grid.hidden = view !== "rooms";
  if (kbAdmin) kbAdmin.el.hidden = view !== "kb";
  for (const name of ["rooms", "kb"]) {
    const tab = $(`#view-${name}`);
    if (!tab) continue;
    if (name === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  const kbTab = $("#view-kb");
  if (kbTab && kbAdmin) kbTab.setAttribute("href", kbAdmin.hash);
  layoutPanes();
}

/** Follow the hash: #kb… is the knowledge base, #rooms (or none) the rooms; other anchors are left alone. */
function route() {
  if (!me || !kbAdmin) return;
  const hash = location.hash;
  if (parseRoute(hash)) {
    if (view !== "kb") showView("kb");
    kbAdmin.go(hash);
  } else if (!hash || hash === "#" || hash === "#rooms") {
    if (view !== "rooms") showView("rooms");
  }
}

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function paintViewBadge() {
  const badge = $("#view-unread");
  if (!badge) return;
  let n = 0;
  for (const id of mine.keys()) n += unreadOf(id);
  badge.hidden = !n;
  badge.textContent = n ? String(n) : "";
  badge.setAttribute("aria-label", n ? t("list.unread", { n }) : "");
}

function showRoomOnPhone(on) {
  const changed = phoneShowsRoom !== on;
  phoneShowsRoom = on;
  $("#grid")?.classList.toggle("show-room", on);
  if (changed && !MEDIUM.matches) layoutPanes();
}

// --- the queue --------------------------------------------------------------------------------

function paintQueue() {
  const ul = $("#queue");
  if (!ul) return;
  $("#queue-count").textContent = queue.length ? `(${queue.length})` : "";
  if (!queue.length) {
    fill(ul, h("li", { class: "empty muted", text: t("console.queue.empty") }));
    return;
  }
  fill(ul, queue.map((c) => h("li", { class: "q-item", dataset: { id: c.id } },
    h("div", { class: "q-main" },
      h("div", { class: "q-top" }, h("strong", { class: "c-number", text: c.number || "" }), " ", slaBadge(c)),
      h("div", { class: "c-subject", text: c.subject || "" }),
      h("div", { class: "muted small", text: `${c.user?.name || ""} · ${t("console.received", { date: fmt.shortDateTime(c.created_at, tzOf(c)) })}` }),
      lastLine(c) ? h("div", { class: "c-last muted small", text: lastLine(c) }) : null),
    h("button", { type: "button", class: "btn primary small claim", text: t("console.claim"),
      "aria-label": `${t("console.claim")} ${c.number || ""}`, onclick: (ev) => claim(c, ev.currentTarget) }))));
}

async function loadQueue() {
  if (!office) return;
  try {
    const body = await api("GET", `/offices/${encodeURIComponent(office)}/consultations/queue`);
    queue = body.consultations || [];
  } catch (err) {
    toast(errorText(err), "error");
  }
  paintQueue();
}

async function claim(c, btn) {
  btn.disabled = true;
  try {
    const claimed = await api("POST", `/consultations/${c.id}/claim`);
    queue = queue.filter((x) => x.id !== c.id);
    paintQueue();
    upsertMine(claimed);
    toast(t("console.claimed"));
    openRoom(claimed.id);
  } catch (err) {
    toast(errorText(err), "error");
    btn.disabled = false;
    loadQueue();
  }
}

// --- my rooms ---------------------------------------------------------------------------------

function upsertMine(c) {
  if (!c || !c.id) return;
  const isMine = c.status === "active" && c.assigned_to && c.assigned_to.id === me.id;
  if (isMine) mine.set(c.id, { ...(mine.get(c.id) || {}), ...c });
  else mine.delete(c.id);
  paintMine();
  paintTabs();
}

function paintMine() {
  const ul = $("#mine");
  if (!ul) return;
  const items = [...mine.values()].sort((a, b) =>
    String(b.last_message_at || b.claimed_at || "").localeCompare(String(a.last_message_at || a.claimed_at || "")));
  $("#mine-count").textContent = items.length ? `(${items.length})` : "";
  paintViewBadge();
  if (!items.length) {
    fill(ul, h("li", { class: "empty muted", text: t("console.mine.empty") }));
    return;
  }
  fill(ul, items.map((c) => {
    const n = unreadOf(c.id);
    const open = panes.get(c.id);
    return h("li", { class: "m-item", dataset: { id: c.id } },
      h("button", { type: "button", class: `m-btn${open && open.visible ? " is-open" : ""}`,
        "aria-label": `${t("console.open.room", { name: c.user?.name || c.number })}${n ? `, ${t("list.unread", { n })}` : ""}`,
        onclick: () => openRoom(c.id) },
        h("div", { class: "q-top" }, h("strong", { class: "m-name", text: c.user?.name || "" }),
          h("span", { class: "c-number muted small", text: c.number || "" }), unreadBadge(n, t("room.newmsg"))),
        h("div", { class: "c-subject", text: c.subject || "" }),
        lastLine(c) ? h("div", { class: "c-last muted small", text: lastLine(c) }) : null,
        h("div", {}, slaBadge(c))));
  }));
}

async function loadMine() {
  try {
    const body = await api("GET", "/consultations?assigned=me&status=active");
    mine.clear();
    for (const c of body.consultations || []) mine.set(c.id, c);
  } catch (err) {
    toast(errorText(err), "error");
  }
  paintMine();
}

function onActivity(p) {
  if (!p || !p.consultation) return;
  const c = p.consultation;
  if (mine.has(c.id) || (c.status === "active" && c.assigned_to && c.assigned_to.id === me.id)) upsertMine(c);
  const q = queue.findIndex((x) => x.id === c.id);
  if (q >= 0) {
    queue[q] = c;
    paintQueue();
  }
}

function onUpdated(c) {
  if (!c || !c.id) return;
  upsertMine(c);
  if (c.status !== "queued" && queue.some((x) => x.id === c.id)) {
    queue = queue.filter((x) => x.id !== c.id);
    paintQueue();
  }
}

function setRead(id, seq) {
  readSeq.set(id, Math.max(readSeq.get(id) || 0, seq || 0));
  paintMine();
  paintTabs();
}

// --- open rooms (panes and tabs) --------------------------------------------------------------

function visibleCount() {
  return WIDE.matches ? 3 : MEDIUM.matches ? 2 : 1;
}

function layoutPanes() {
  const n = visibleCount();
  // On a phone the lists and the room take turns: a room behind the list is not being read.
  // Nor is one behind the knowledge base.
  const visible = new Set(view === "rooms" && (MEDIUM.matches || phoneShowsRoom) ? recent.slice(0, n) : []);
  for (const [id, pane] of panes) {
    pane.visible = visible.has(id);
    pane.el.hidden = !pane.visible;
    pane.room.setActive(pane.visible);
  }
  const box = $("#panes");
  if (box) {
    box.dataset.count = String(Math.min(n, panes.size));
    $("#panes-empty").hidden = panes.size > 0;
  }
  paintTabs();
  paintMine();
}

function paintTabs() {
  const nav = $("#tabs");
  if (!nav) return;
  fill(nav, opened.map((id) => {
    const pane = panes.get(id);
    const c = pane.room.c || mine.get(id) || {};
    const name = c.user?.name || c.number || "…";
    const n = unreadOf(id);
    return h("div", { class: `tab${pane.visible ? " is-visible" : ""}${recent[0] === id ? " is-current" : ""}` },
      h("button", { type: "button", class: "tab-btn", "aria-pressed": String(Boolean(pane.visible)), onclick: () => openRoom(id) },
        h("span", { class: "tab-name", text: name }), unreadBadge(n, t("room.newmsg"))),
      h("button", { type: "button", class: "tab-x", "aria-label": t("console.close.tab", { name }), text: "×",
        onclick: () => closePane(id) }));
  }));
}

function openRoom(id) {
  if (!OBJECT_ID.test(id)) return;
  if (view !== "rooms") {
    history.pushState(null, "", "#rooms");
    showView("rooms");
  }
  if (!panes.has(id)) createPane(id);
  recent = [id, ...recent.filter((x) => x !== id)];
  phoneShowsRoom = true;
  $("#grid")?.classList.toggle("show-room", true);
  layoutPanes();
  const pane = panes.get(id);
  setTimeout(() => pane.room.input.focus({ preventScroll: true }), 0);
}

function closePane(id) {
  const pane = panes.get(id);
  if (!pane) return;
  hub.remove(id);
  pane.el.remove();
  panes.delete(id);
  opened = opened.filter((x) => x !== id);
  recent = recent.filter((x) => x !== id);
  if (!panes.size) showRoomOnPhone(false);
  layoutPanes();
}

function createPane(id) {
  const cannedBtn = h("button", { type: "button", class: "btn ghost small", text: t("console.canned") });
  const room = new ChatRoom({ socket, id, me, staff: true, tz: tzOf(mine.get(id)), tools: [cannedBtn],
    onConsultation: (c) => {
      room.tz = tzOf(c);
      paintRoomHead(room, c);
      if (mine.has(c.id) || (c.assigned_to && c.assigned_to.id === me.id)) upsertMine(c);
      paintTabs();
    },
    onSeen: (seq) => setRead(id, seq) });
  cannedBtn.addEventListener("click", () => cannedPicker(room));
  const el = h("div", { class: "pane", dataset: { id } }, room.el);
  el.addEventListener("focusin", () => {
    if (recent[0] !== id) {
      recent = [id, ...recent.filter((x) => x !== id)];
      paintTabs();
    }
  });
  panes.set(id, { room, el, visible: false });
  opened.push(id);
  $("#panes").append(el);
  hub.add(room).catch((err) => {
    room.log.prepend(h("p", { class: "error", role: "alert", text: errorText(err) }));
  });
}

// --- a room's header and actions --------------------------------------------------------------

function paintRoomHead(room, c) {
  const menu = h("details", { class: "menu" },
    h("summary", { class: "btn ghost small", text: t("console.escalate") }),
    h("div", { class: "menu-list" },
      h("button", { type: "button", text: t("console.meeting"), onclick: () => meetingDialog(room) }),
      h("button", { type: "button", text: t("console.visit"), onclick: () => visitDialog(room) })));
  const closed = c.status === "closed";
  const awaiting = Boolean(c.awaiting_clarification ?? (c.sla && c.sla.paused));
  const actions = closed ? [
    h("button", { type: "button", class: "btn ghost small", text: t("console.info"), onclick: () => infoDialog(room) }),
  ] : [
    h("button", { type: "button", class: "btn ghost small clarify", "aria-pressed": String(awaiting),
      text: t("console.clarify"), disabled: c.sla && c.sla.state === "met" && !awaiting,
      onclick: () => setClarification(room, !awaiting) }),
    h("button", { type: "button", class: "btn ghost small", text: t("console.transfer"), onclick: () => transferDialog(room) }),
    menu,
    h("button", { type: "button", class: "btn ghost small", text: t("console.info"), onclick: () => infoDialog(room) }),
    h("button", { type: "button", class: "btn small danger-ghost", text: t("console.close"), onclick: () => closeDialog(room) }),
  ];
  fill(room.head,
    h("div", { class: "room-title" },
      h("h2", {}, h("span", { class: "c-number", text: c.number || "" }), " ", c.subject || ""),
      h("p", { class: "room-sub muted" },
        h("strong", { text: c.user?.name || "" }), c.user?.email ? ` · ${c.user.email}` : "", " ",
        h("span", { class: `badge status-${c.status}`, text: t(`status.${c.status}`) }), " ", slaBadge(c),
        c.assigned_to && c.assigned_to.id !== me.id ? ` · ${c.assigned_to.name}` : "")),
    h("div", { class: "room-actions" }, actions,
      h("button", { type: "button", class: "icon-btn", "aria-label": t("console.close.tab", { name: c.user?.name || "" }),
        text: "×", onclick: () => closePane(room.id) })));
  if (closed) {
    fill(room.footer, h("p", { text: t("room.closed") }),
      h("div", { class: "actions wrap" },
        h("a", { class: "btn small", href: `/api/v1/consultations/${encodeURIComponent(c.id)}/transcript`,
          target: "_blank", rel: "noopener noreferrer", text: t("room.transcript") }),
        h("button", { type: "button", class: "btn primary small kb-draft", text: t("console.kb.draft"),
          title: t("console.kb.draft.hint"), onclick: (ev) => makeDraft(room, ev.currentTarget) })));
    room.footer.hidden = false;
  } else room.footer.hidden = true;
}

/** One click: the closed consultation's question and answers become a draft article, opened in the editor. */
async function makeDraft(room, btn) {
  btn.disabled = true;
  try {
    const art = await api("POST", `/consultations/${encodeURIComponent(room.id)}/kb-draft`);
    toast(t("console.kb.draft.done"));
    kbAdmin.remember(art);
    navigate(`#kb/${art.id}`);
  } catch (err) {
    toast(err.code === "not_closed" ? t("err.not_closed") : errorText(err), "error");
  } finally {
    btn.disabled = false;
  }
}

async function setClarification(room, awaiting) {
  try {
    const c = await api("POST", `/consultations/${room.id}/clarification`, { awaiting });
    room.setConsultation(c);
  } catch (err) {
    toast(errorText(err), "error");
  }
}

function dialogForm(title, fields, submitLabel, action, { wide = false } = {}) {
  const status = h("p", { class: "form-status", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "btn primary", text: submitLabel });
  const cancel = h("button", { type: "button", class: "btn", text: t("console.cancel") });
  const form = h("form", { class: "form" }, fields, status, h("div", { class: "actions" }, cancel, submit));
  const dlg = modal(title, form, { wide });
  cancel.addEventListener("click", () => dlg.close());
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!form.reportValidity()) return;
    say(status, "");
    submit.disabled = true;
    try {
      const done = await action(form);
      if (done !== false) dlg.close();
    } catch (err) {
      say(status, plainError(err), "error");
    } finally {
      submit.disabled = false;
    }
  });
  return { dlg, form, status };
}

function closeDialog(room) {
  const summary = h("textarea", { name: "summary", rows: "4", maxlength: "4000" });
  dialogForm(t("console.close.title"), [field(t("console.close.summary"), summary)], t("console.close.submit"),
    async () => {
      const body = summary.value.trim() ? { summary: summary.value.trim() } : {};
      const c = await api("POST", `/consultations/${room.id}/close`, body);
      room.setConsultation(c);
      upsertMine(c);
    });
}

async function transferDialog(room) {
  const c = room.c || {};
  const kind = (value, label, checked) => h("label", { class: "radio" },
    h("input", { type: "radio", name: "kind", value, checked }), " ", label);
  const officer = h("select", { name: "to_user" });
  const target = h("select", { name: "to_office" },
    [...officeMap.values()].filter((o) => o.code !== c.office).map((o) => h("option", { value: o.code, text: o.name })));
  const officerField = field(t("console.transfer.officer.pick"), officer);
  const officeField = field(t("console.transfer.office.pick"), target);
  officeField.hidden = true;
  const { form } = dialogForm(t("console.transfer.title"), [
    h("fieldset", { class: "radios" }, h("legend", { class: "sr-only", text: t("console.transfer.title") }),
      kind("officer", t("console.transfer.officer"), true), kind("office", t("console.transfer.office"), false)),
    officerField, officeField,
  ], t("console.transfer.submit"), async (f) => {
    const toOffice = f.elements.kind.value === "office";
    const body = toOffice ? { to_office: target.value } : { to_user: officer.value };
    if (!body.to_office && !body.to_user) throw new Error(t("err.validation"));
    await api("POST", `/consultations/${room.id}/transfer`, body);
    toast(t("console.transfer.title"));
    closePane(room.id);
  });
  form.addEventListener("change", () => {
    const toOffice = form.elements.kind.value === "office";
    officerField.hidden = toOffice;
    officeField.hidden = !toOffice;
  });
  try {
    const body = await api("GET", `/offices/${encodeURIComponent(c.office || office)}/staff`);
    const others = (body.staff || []).filter((s) => s.id !== me.id);
    if (!others.length) officer.append(h("option", { value: "", text: t("console.transfer.none") }));
    for (const s of others) {
      officer.append(h("option", { value: s.id, text: `${s.name}${s.online ? ` (${t("console.transfer.online")})` : ""}` }));
    }
  } catch (err) {
    officer.append(h("option", { value: "", text: errorText(err) }));
  }
}

function meetingDialog(room) {
  const c = room.c || {};
  const provider = h("select", { name: "provider" },
    h("option", { value: "zoom", text: "Zoom" }), h("option", { value: "jitsi", text: "Jitsi Meet" }),
    h("option", { value: "link", text: "Link" }));
  const start = h("input", { type: "datetime-local", name: "start_time" });
  const url = h("input", { type: "url", name: "url", placeholder: "https://" });
  const urlField = field(t("console.meeting.url"), url);
  urlField.hidden = true;
  provider.addEventListener("change", () => {
    urlField.hidden = provider.value !== "link";
    url.required = provider.value === "link";
  });
  dialogForm(t("console.meeting"), [
    field(t("console.meeting.provider"), provider),
    field(`${t("console.meeting.start")} (${fmt.tzAbbr(tzOf(c))})`, start, t("console.meeting.start.hint")),
    urlField,
  ], t("console.meeting.submit"), async () => {
    const body = { provider: provider.value };
    if (start.value) body.start_time = fmt.localToIso(start.value, tzOf(c));
    if (provider.value === "link") body.url = url.value.trim();
    const meeting = await api("POST", `/consultations/${room.id}/meeting`, body);
    toast(t("console.meeting.done"));
    // The host link is only ever in this staff response: offer it once, never in the room.
    if (meeting && meeting.host_start_url) {
      modal(t("console.meeting.host"), h("p", {}, externalLink(meeting.host_start_url, t("console.meeting.host.open"))));
    }
  });
}

function visitDialog(room) {
  const date = h("input", { type: "date", name: "date", required: true,
    min: fmt.dayKey(new Date().toISOString(), tzOf(room.c)) });
  dialogForm(t("console.visit"), [field(t("console.visit.date"), date)], t("console.visit.submit"), async () => {
    await api("POST", `/consultations/${room.id}/visit`, { date: date.value });
    toast(t("console.visit.done"));
  });
}

async function infoDialog(room) {
  const c = room.c || {};
  const opened = h("ul", { class: "plain" });
  const deliveries = h("div", {}, h("p", { class: "muted", text: t("kb.loading") }));
  modal(t("console.info.title"), [
    h("dl", { class: "info" },
      h("dt", { text: t("console.user") }), h("dd", { text: [c.user?.name, c.user?.email].filter(Boolean).join(" · ") }),
      h("dt", { text: t("new.topic") }), h("dd", { text: c.topic ? t(`topic.${c.topic}`) : "" }),
      h("dt", { text: t("console.kb.query") }), h("dd", { class: "kb-query", text: c.kb_query || t("console.kb.none") }),
      h("dt", { text: t("console.kb.opened") }), h("dd", {}, opened)),
    h("h3", { text: t("console.deliveries") }), deliveries,
  ], { wide: true });
  const ids = c.kb_opened || [];
  if (!ids.length) opened.append(h("li", { text: t("console.kb.none") }));
  for (const id of ids) {
    const li = h("li", {}, h("button", { type: "button", class: "link-btn", text: id, onclick: () => kb.openArticle(id) }));
    opened.append(li);
    api("GET", `/kb/articles/${encodeURIComponent(id)}`).then((a) => {
      if (a && a.title) li.firstChild.textContent = a.title;
    }).catch(() => {});
  }
  try {
    const body = await api("GET", `/consultations/${room.id}/deliveries`);
    const list = body.deliveries || [];
    if (!list.length) {
      fill(deliveries, h("p", { class: "muted", text: t("console.deliveries.empty") }));
      return;
    }
    fill(deliveries, h("div", { class: "table-wrap" }, h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["kind", "to", "status", "attempts", "when"].map((k) =>
        h("th", { scope: "col", text: t(`console.deliveries.${k}`) })))),
      h("tbody", {}, list.map((d) => h("tr", {},
        h("td", { text: d.kind }), h("td", { text: d.to }),
        h("td", {}, h("span", { class: `badge delivery-${d.status}`, text: d.status }),
          d.last_error ? h("div", { class: "muted small", text: d.last_error }) : null),
        h("td", { text: String(d.attempts ?? 0) }),
        h("td", { text: fmt.shortDateTime(d.sent_at || d.created_at, tzOf(c)) })))))));
  } catch (err) {
    fill(deliveries, h("p", { class: "error", role: "alert", text: errorText(err) }));
  }
}

// --- canned responses -------------------------------------------------------------------------

async function loadCanned(code) {
  const body = await api("GET", `/offices/${encodeURIComponent(code)}/canned-responses`);
  canned = { office: code, items: body.canned_responses || [] };
  return canned.items;
}

async function cannedPicker(room) {
  const code = (room.c && room.c.office) || office;
  const filter = h("input", { type: "search", placeholder: t("console.canned.filter"), "aria-label": t("console.canned.filter") });
  const list = h("ul", { class: "canned-list" });
  const title = h("input", { type: "text", name: "title", required: true, maxlength: "120" });
  const text = h("textarea", { name: "text", required: true, rows: "4", maxlength: "4000" });
  const shortcut = h("input", { type: "text", name: "shortcut", maxlength: "30", pattern: "[A-Za-z0-9_\\-]*" });
  const status = h("p", { class: "form-status", role: "alert", hidden: true });
  const formTitle = h("h3", { text: t("console.canned.new") });
  const save = h("button", { type: "submit", class: "btn primary small", text: t("console.canned.save") });
  const reset = h("button", { type: "button", class: "btn small", text: t("console.cancel") });
  let editing = null;
  const form = h("form", { class: "form canned-form" }, formTitle,
    field(t("console.canned.title"), title), field(t("console.canned.text"), text),
    field(`${t("console.canned.shortcut")} ${t("auth.optional")}`, shortcut), status,
    h("div", { class: "actions" }, reset, save));
  const dlg = modal(t("console.canned"), [filter, list, form], { wide: true });

  const startEdit = (item) => {
    editing = item;
    formTitle.textContent = item ? `${t("console.canned.edit")}: ${item.title}` : t("console.canned.new");
    title.value = item ? item.title : "";
    text.value = item ? item.text : "";
    shortcut.value = item && item.shortcut ? item.shortcut : "";
    if (item) title.focus();
  };
  reset.addEventListener("click", () => startEdit(null));

  const paint = () => {
    const q = filter.value.trim().toLowerCase();
    const items = (canned?.items || []).filter((c) =>
      !q || c.title.toLowerCase().includes(q) || c.text.toLowerCase().includes(q) || (c.shortcut || "").includes(q));
    if (!items.length) {
      fill(list, h("li", { class: "muted", text: t("console.canned.empty") }));
      return;
    }
    fill(list, items.map((item) => h("li", { class: "canned-item" },
      h("div", { class: "canned-main" },
        h("strong", { text: item.title }), item.shortcut ? h("code", { text: ` /${item.shortcut}` }) : null,
        h("p", { class: "muted small canned-text", text: item.text })),
      h("div", { class: "canned-actions" },
        h("button", { type: "button", class: "btn primary small", text: t("console.canned.insert"),
          onclick: () => { dlg.close(); room.insertText(item.text); } }),
        h("button", { type: "button", class: "btn small", text: t("console.canned.edit"), onclick: () => startEdit(item) }),
        h("button", { type: "button", class: "btn small danger-ghost", text: t("console.canned.delete"),
          onclick: async () => {
            if (!(await confirmModal(t("console.canned.delete.confirm", { title: item.title }), t("console.canned.delete"),
              t("console.cancel")))) return;
            try {
              await api("DELETE", `/canned-responses/${encodeURIComponent(item.id)}`);
              canned.items = canned.items.filter((x) => x.id !== item.id);
              paint();
            } catch (err) {
              toast(errorText(err), "error");
            }
          } })))));
  };
  filter.addEventListener("input", paint);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!form.reportValidity()) return;
    say(status, "");
    const body = { title: title.value.trim(), text: text.value.trim(), shortcut: shortcut.value.trim() || null };
    save.disabled = true;
    try {
      if (editing) {
        const upd = await api("PATCH", `/canned-responses/${encodeURIComponent(editing.id)}`, body);
        canned.items = canned.items.map((x) => (x.id === upd.id ? upd : x));
      } else {
        const created = await api("POST", `/offices/${encodeURIComponent(code)}/canned-responses`, body);
        canned.items = [...canned.items, created].sort((a, b) => a.title.localeCompare(b.title));
      }
      startEdit(null);
      paint();
    } catch (err) {
      say(status, errorText(err), "error");
    } finally {
      save.disabled = false;
    }
  });
  try {
    if (!canned || canned.office !== code) await loadCanned(code);
  } catch (err) {
    say(status, errorText(err), "error");
  }
  paint();
  filter.focus();
}

// --- start ------------------------------------------------------------------------------------

async function start(user) {
  if (!STAFF_ROLES.has(user.role)) {
    viewLogin(t("auth.staff.only"));
    fill($("#nav"), h("span", { class: "who", text: user.name }),
      h("button", { type: "button", class: "btn ghost small", text: t("nav.logout"), onclick: logout }));
    return;
  }
  me = user;
  setSignedIn(true);
  if (!chosenHere() && user.lang && user.lang !== lang()) setLang(user.lang);
  office = me.office || [...officeMap.keys()][0] || null;
  kbAdmin = new KbAdmin({ me, offices: officeMap, navigate,
    tz: () => officeMap.get(me.office || office)?.time_zone || "Asia/Jakarta" });
  if (parseRoute(location.hash)) view = "kb";
  renderShell();
  if (view === "kb") kbAdmin.go(location.hash);
  socket = openSocket();
  hub = new RoomHub(socket, { onStatus: setConnection });
  socket.on("connect_error", (err) => {
    setConnection(false);
    if (refusedForAuth(err)) {
      forgetSession();
      socket.off();
      socket.disconnect();
      setConnection(true);
      me = null;
      kbAdmin = null;
      view = "rooms";
      for (const id of [...panes.keys()]) panes.get(id).room.leave();
      panes.clear();
      opened = [];
      recent = [];
      mine.clear();
      queue = [];
      viewLogin(t("err.unauthenticated"));
    }
  });
  let connectedBefore = false;
  socket.on("connect", () => {
    // After a reconnect, whatever changed while we were away: reload both lists.
    if (connectedBefore) {
      loadQueue();
      loadMine();
    }
    connectedBefore = true;
  });
  socket.on("queue:updated", (p) => {
    if (p && p.office === office) {
      queue = p.queue || [];
      paintQueue();
    }
  });
  socket.on("room:activity", onActivity);
  socket.on("consultation:updated", onUpdated);
  socket.on("message:read", (p) => {
    if (p && me && p.user_id === me.id) setRead(p.consultation_id, p.seq);
  });
  await Promise.all([loadQueue(), loadMine()]);
}

async function boot() {
  initLayout();
  WIDE.addEventListener("change", layoutPanes);
  MEDIUM.addEventListener("change", layoutPanes);
  document.addEventListener("visibilitychange", () => {
    paintMine();
    paintTabs();
  });
  document.addEventListener("click", (ev) => {
    for (const d of document.querySelectorAll("details.menu[open]")) if (!d.contains(ev.target)) d.open = false;
  });
  window.addEventListener("hashchange", route);
  onLangChange(() => {
    if (!me) return viewLogin();
    const keep = { opened: [...opened], recent: [...recent] };
    for (const id of keep.opened) closePane(id);
    renderShell();
    for (const id of keep.opened) createPane(id);
    recent = keep.recent;
    layoutPanes();
    showRoomOnPhone(phoneShowsRoom && panes.size > 0);
  });
  try {
    officeMap = new Map((await offices()).map((o) => [o.code, o]));
  } catch {
    officeMap = new Map();
  }
  let user = null;
  try {
    user = await currentUser();
  } catch (err) {
    toast(errorText(err), "error");
  }
  if (user) start(user);
  else viewLogin();
}

boot();

