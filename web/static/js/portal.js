// The user portal (/app/): account pages, my consultations, opening one, and its chat room.
// Hash routes: #/login #/register #/registered #/forgot #/list #/new #/c/<id>
import { api, currentUser, errorText, forgetSession, offices, signIn, signOut } from "./api.js";
import { ChatRoom, RoomHub, localText, refusedForAuth } from "./chat.js";
import { $, confirmModal, debounce, field, fill, formValues, h, say, uuid } from "./dom.js";
import * as fmt from "./fmt.js";
import { chosenHere, lang, onLangChange, setLang, t } from "./i18n.js";
import * as kb from "./kb.js";
import { visitActions } from "./visit.js";
import { initLayout, setSignedIn, toast } from "./layout.js";
import {
  CONSULTATION_JOIN, CONSULTATION_LEAVE, CONSULTATION_UPDATED, MESSAGE_NEW, SESSION_ENDED, openSocket,
} from "./rt.js";

const STAFF_ROLES = new Set(["officer", "supervisor", "admin"]);
const TOPICS = ["data", "metadata", "classification", "other"];
const OBJECT_ID = /^[a-f0-9]{24}$/i;

const main = $("#main");
let me = null;
let socket = null;
let hub = null;
let officeMap = new Map();
let view = null; // {name, cleanup()}
let afterLogin = "#/list";
let listState = null; // {items: Map id->c, watched: Set, el}

// --- helpers ----------------------------------------------------------------------------------

function route() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean);
  return { parts, params: new URLSearchParams(query) };
}

function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function tzOf(c) {
  return (c && (c.time_zone || officeMap.get(c.office)?.time_zone)) || "Asia/Jakarta";
}

function officeName(code) {
  return officeMap.get(code)?.name || code;
}

function statusBadge(c) {
  return h("span", { class: `badge status-${c.status}`, text: t(`status.${c.status}`) });
}

function dueText(c) {
  if (!c || c.status === "closed") return "";
  const sla = c.sla || {};
  if (sla.state === "met") return t("due.met");
  if (sla.paused) return t("due.paused");
  if (sla.due_at) return t("due", { date: fmt.dateTime(sla.due_at, tzOf(c)) });
  return "";
}

function unreadBadge(n) {
  if (!n) return null;
  return h("span", { class: "badge unread", "aria-label": t("list.unread", { n }), text: String(n) });
}

function page(title, ...children) {
  return h("section", { class: "panel narrow" }, h("h1", { tabindex: "-1", text: title }), children);
}

function show(node, name, cleanup) {
  if (view && view.cleanup) view.cleanup();
  view = { name, cleanup };
  fill(main, node);
  const heading = main.querySelector("h1");
  if (heading && document.activeElement === document.body) heading.focus({ preventScroll: true });
}

function renderNav() {
  const nav = $("#nav");
  if (me) {
    fill(nav,
      h("a", { href: "#/list", text: t("nav.mine") }),
      STAFF_ROLES.has(me.role) ? h("a", { href: "/console/", text: t("nav.console") })
        : h("a", { href: "#/new", text: t("nav.new") }),
      h("span", { class: "who", text: me.name }),
      h("button", { type: "button", class: "btn ghost small", text: t("nav.logout"), onclick: logout }));
  } else {
    fill(nav, h("a", { href: "#/login", text: t("nav.login") }), h("a", { href: "#/register", text: t("nav.register") }));
  }
}

function setConnection(online) {
  const el = $("#conn");
  if (!el) return;
  el.hidden = online;
  el.textContent = online ? "" : t("room.offline");
}

// --- session ----------------------------------------------------------------------------------

function signedIn(user) {
  me = user;
  setSignedIn(true);
  if (!chosenHere() && user.lang && user.lang !== lang()) setLang(user.lang);
  else if (user.lang !== lang()) api("PATCH", "/me", { lang: lang() }).catch(() => {});
  if (!socket) {
    socket = openSocket();
    hub = new RoomHub(socket, { onStatus: setConnection });
    socket.on("connect_error", (err) => {
      setConnection(false);
      if (refusedForAuth(err)) sessionEnded();
    });
    // Logout elsewhere, a password reset or a disabled account: the server ends this socket too.
    socket.on(SESSION_ENDED, () => sessionEnded());
    socket.on(MESSAGE_NEW, onListMessage);
    socket.on(CONSULTATION_UPDATED, onListUpdated);
    socket.on("connect", () => {
      // After a reconnect the list's rooms are joined again (the hub re-joins open chat rooms).
      if (!listState) return;
      for (const id of listState.watched) {
        const c = listState.items.get(id);
        if (c) watch(c);
      }
    });
  } else if (!socket.connected) {
    socket.connect();
  }
  renderNav();
}

function dropSocket() {
  if (socket) {
    socket.off();
    socket.disconnect();
    socket = null;
    hub = null;
  }
  setConnection(true);
}

/** The server no longer knows this session (signed out elsewhere, expired): sign in again. */
function sessionEnded() {
  forgetSession();
  dropSocket();
  me = null;
  setSignedIn(false);
  renderNav();
  toast(t("err.unauthenticated"), "error");
  afterLogin = location.hash || "#/list";
  go("#/login");
}

async function logout() {
  // The socket goes first: the server's session:ended for this very logout needs no "sign in again" toast.
  dropSocket();
  try {
    await signOut();
  } catch {
    // the session is forgotten here either way
  }
  me = null;
  setSignedIn(false);
  renderNav();
  go("#/login");
}

// --- account views ----------------------------------------------------------------------------

function viewLogin(params) {
  const email = h("input", { type: "email", name: "email", required: true, autocomplete: "username", value: params.get("email") || "" });
  const password = h("input", { type: "password", name: "password", required: true, autocomplete: "current-password" });
  const status = h("p", { class: "form-status", role: "alert", hidden: true });
  const extra = h("div", {});
  const submit = h("button", { type: "submit", class: "btn primary", text: t("auth.login.submit") });
  const form = h("form", { class: "form", id: "login-form" },
    field(t("auth.email"), email), field(t("auth.password"), password), status, extra,
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    say(status, "");
    extra.replaceChildren();
    submit.disabled = true;
    try {
      const user = await signIn(email.value.trim(), password.value);
      signedIn(user);
      const next = afterLogin;
      afterLogin = "#/list";
      go(STAFF_ROLES.has(user.role) ? "#/list" : next);
    } catch (err) {
      say(status, errorText(err), "error");
      if (err.code === "email_not_verified") {
        say(status, t("auth.unverified"), "error");
        extra.append(resendButton(email.value.trim()));
      }
    } finally {
      submit.disabled = false;
    }
  });
  show(page(t("auth.login.title"), form,
    h("p", {}, h("a", { href: "#/forgot", text: t("auth.forgot") })),
    h("p", {}, t("auth.login.none"), " ", h("a", { href: "#/register", text: t("nav.register") }))), "login");
  email.focus();
}

function resendButton(email) {
  const btn = h("button", { type: "button", class: "btn small", text: t("auth.resend") });
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    try {
      await api("POST", "/auth/resend-verification", { email });
      toast(t("auth.resent"));
    } catch (err) {
      toast(errorText(err), "error");
    } finally {
      btn.disabled = false;
    }
  });
  return btn;
}

function viewRegister() {
  const input = (name, type, opts = {}) => h("input", { type, name, ...opts });
  const status = h("p", { class: "form-status", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "btn primary", text: t("auth.register.submit") });
  const opt = (label) => `${label} ${t("auth.optional")}`;
  const form = h("form", { class: "form", id: "register-form" },
    field(t("auth.name"), input("name", "text", { required: true, autocomplete: "name", maxlength: "120" })),
    field(t("auth.email"), input("email", "email", { required: true, autocomplete: "email" })),
    field(t("auth.password"), input("password", "password", { required: true, autocomplete: "new-password", minlength: "8" }),
      t("auth.password.hint")),
    field(opt(t("auth.phone")), input("phone", "tel", { autocomplete: "tel", maxlength: "40" })),
    field(opt(t("auth.institution")), input("institution", "text", { autocomplete: "organization", maxlength: "200" })),
    field(opt(t("auth.occupation")), input("occupation", "text", { maxlength: "120" })),
    h("div", { class: "field" }, h("label", {},
      input("consent", "checkbox", { required: true, value: "yes" }), " ", t("auth.consent"), " ",
      h("a", { href: "/privacy", target: "_blank", rel: "noopener", text: t("auth.consent.link") }))),
    status, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    say(status, "");
    const v = formValues(form);
    if (!form.reportValidity()) return;
    const body = {
      email: v.email, password: new FormData(form).get("password"), name: v.name, lang: lang(), consent: v.consent === "yes",
    };
    for (const k of ["phone", "institution", "occupation"]) if (v[k]) body[k] = v[k];
    submit.disabled = true;
    try {
      await api("POST", "/auth/register", body);
      go(`#/registered?email=${encodeURIComponent(v.email)}`);
    } catch (err) {
      say(status, errorText(err), "error");
    } finally {
      submit.disabled = false;
    }
  });
  show(page(t("auth.register.title"), form,
    h("p", {}, t("auth.register.have"), " ", h("a", { href: "#/login", text: t("nav.login") }))), "register");
}

function viewRegistered(params) {
  const email = params.get("email") || "";
  show(page(t("auth.check.title"),
    h("p", { class: "notice", text: t("auth.check.lead", { email }) }),
    email ? h("p", {}, resendButton(email)) : null,
    h("p", {}, h("a", { class: "btn primary", href: `#/login?email=${encodeURIComponent(email)}`, text: t("nav.login") }))),
  "registered");
}

function viewForgot() {
  const email = h("input", { type: "email", name: "email", required: true, autocomplete: "email" });
  const status = h("p", { class: "form-status", role: "status", hidden: true });
  const submit = h("button", { type: "submit", class: "btn primary", text: t("auth.forgot.submit") });
  const form = h("form", { class: "form" }, field(t("auth.email"), email), status, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!form.reportValidity()) return;
    submit.disabled = true;
    try {
      await api("POST", "/auth/password-reset", { email: email.value.trim() });
      say(status, t("auth.forgot.sent"), "ok");
    } catch (err) {
      say(status, errorText(err), "error");
    } finally {
      submit.disabled = false;
    }
  });
  show(page(t("auth.forgot.title"), h("p", { text: t("auth.forgot.lead") }), form,
    h("p", {}, h("a", { href: "#/login", text: t("nav.login") }))), "forgot");
}

function viewStaffNotice() {
  show(page(t("app.name"), h("p", { class: "notice", text: t("auth.user.staff") }),
    h("p", {}, h("a", { class: "btn primary", href: "/console/", text: t("auth.open.console") }))), "staff");
}

// --- my consultations -------------------------------------------------------------------------

/** A list's last line: "Name: text"; the system speaks in the reader's language, without a name. */
function lastLine(last) {
  if (last.texts) return localText(last);
  return `${last.author_name ? `${last.author_name}: ` : ""}${last.text}`;
}

function listItem(c) {
  const last = c.last_message;
  return h("li", { class: "c-item", dataset: { id: c.id } },
    h("a", { class: "c-link", href: `#/c/${c.id}` },
      h("div", { class: "c-top" }, statusBadge(c), h("span", { class: "c-number", text: c.number || "" }),
        unreadBadge(c.unread)),
      h("div", { class: "c-subject", text: c.subject || "" }),
      h("div", { class: "c-office muted", text: officeName(c.office) }),
      last && last.text ? h("div", { class: "c-last muted", text: lastLine(last) }) : null,
      dueText(c) ? h("div", { class: `c-due${c.sla && c.sla.state === "met" ? " met" : ""}`, text: dueText(c) }) : null));
}

function paintList() {
  if (!listState) return;
  const items = [...listState.items.values()].sort((a, b) =>
    String(b.last_message_at || b.created_at).localeCompare(String(a.last_message_at || a.created_at)));
  if (!items.length) {
    fill(listState.el, h("p", { text: t("list.empty") }));
    return;
  }
  fill(listState.el, h("ul", { class: "c-list" }, items.map(listItem)));
}

/** Join a listed consultation after its last seq: what arrived meanwhile comes with the ack. */
function watch(c) {
  socket.emit(CONSULTATION_JOIN, { consultation_id: c.id, after_seq: c.last_seq || 0 }, (ack) => {
    if (ack && ack.ok) for (const m of ack.messages || []) onListMessage(m);
  });
}

function onListMessage(m) {
  if (!listState || !m || m.kind === "note") return;
  const c = listState.items.get(m.consultation_id);
  if (!c) return;
  c.last_message = { seq: m.seq, kind: m.kind, text: m.kind === "file" ? m.attachment?.filename || "" : m.text,
    author_name: m.author?.name, texts: m.texts };
  c.last_message_at = m.created_at;
  if (m.seq > (c.last_seq || 0)) {
    c.last_seq = m.seq;
    if (!(m.author && m.author.id === me.id)) c.unread = (c.unread || 0) + 1;
  }
  paintList();
}

function onListUpdated(c) {
  if (!listState || !c || !c.id) return;
  const old = listState.items.get(c.id);
  listState.items.set(c.id, old ? { ...old, ...c, unread: Math.max(c.unread ?? 0, 0) } : c);
  paintList();
}

async function viewList() {
  const box = h("div", { class: "c-list-box", "aria-live": "polite" }, h("p", { class: "muted", text: t("kb.loading") }));
  const section = h("section", { class: "panel" },
    h("div", { class: "panel-head" }, h("h1", { tabindex: "-1", text: t("list.title") }),
      h("a", { class: "btn primary", href: "#/new", text: t("list.new") })),
    box);
  const state = { items: new Map(), watched: new Set(), el: box };
  show(section, "list", () => {
    for (const id of state.watched) if (!hub?.get(id)) socket?.emit(CONSULTATION_LEAVE, { consultation_id: id }, () => {});
    if (listState === state) listState = null;
  });
  listState = state;
  try {
    const body = await api("GET", "/consultations");
    for (const c of body.consultations || []) state.items.set(c.id, c);
    paintList();
    // Join the open ones without history, so their badges move as messages arrive.
    for (const c of state.items.values()) {
      if (c.status === "closed" || !socket) continue;
      state.watched.add(c.id);
      watch(c);
    }
  } catch (err) {
    fill(box, h("p", { class: "error", role: "alert", text: errorText(err) }));
  }
}

// --- a new consultation -----------------------------------------------------------------------

async function viewNew(params) {
  const officeSel = h("select", { name: "office", required: true },
    h("option", { value: "", text: t("new.office.choose") }));
  const topicSel = h("select", { name: "topic", required: true },
    TOPICS.map((tp) => h("option", { value: tp, text: t(`topic.${tp}`) })));
  const subject = h("input", { type: "text", name: "subject", required: true, maxlength: "200", autocomplete: "off" });
  const text = h("textarea", { name: "text", required: true, rows: "6", maxlength: "4000" });
  const suggestions = h("div", { class: "kb-suggest", "aria-live": "polite" });
  const status = h("p", { class: "form-status", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "btn primary", text: t("new.submit") });
  const form = h("form", { class: "form", id: "new-form" },
    field(t("new.office"), officeSel), field(t("new.topic"), topicSel),
    field(t("new.subject"), subject, t("new.subject.hint")), suggestions,
    field(t("new.text"), text), status, h("div", { class: "actions" }, submit));
  show(page(t("new.title"), form), "new", () => search.cancel());

  try {
    const list = await offices();
    for (const o of list) officeSel.append(h("option", { value: o.code, text: o.name }));
    const pre = params.get("office");
    if (pre && officeMap.has(pre)) officeSel.value = pre;
  } catch (err) {
    say(status, errorText(err), "error");
  }

  const clientId = uuid(); // one per form: a retried submit opens one consultation
  let kbQuery = null;
  const opened = new Set();
  let kbOff = false;
  let seq = 0;

  const search = debounce(async () => {
    const q = subject.value.trim();
    if (kbOff) return;
    if (q.length < 3) {
      suggestions.replaceChildren();
      return;
    }
    const mine = ++seq;
    try {
      const results = await kb.search(q, officeSel.value, { live: true });
      if (mine !== seq) return;
      kbQuery = q;
      if (!results.length) {
        suggestions.replaceChildren();
        return;
      }
      fill(suggestions, h("p", { class: "kb-suggest-title", text: t("kb.suggest") }),
        kb.resultList(results.slice(0, 5), (r) => {
          opened.add(String(r.id));
          kb.openArticle(r.id, r.title);
        }));
    } catch (err) {
      if (err instanceof kb.KbUnavailable) {
        kbOff = true;
        fill(suggestions, h("p", { class: "muted small", text: err.message }));
      }
    }
  }, 350);
  subject.addEventListener("input", search);
  officeSel.addEventListener("change", search);

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    say(status, "");
    if (!form.reportValidity()) return;
    const v = formValues(form);
    const body = { office: v.office, topic: v.topic, subject: v.subject, text: v.text, client_id: clientId };
    if (kbQuery) body.kb_query = kbQuery;
    if (opened.size) body.kb_opened = [...opened].slice(0, 20);
    submit.disabled = true;
    try {
      const c = await api("POST", "/consultations", body);
      go(`#/c/${c.id}`);
    } catch (err) {
      say(status, errorText(err), "error");
      submit.disabled = false;
    }
  });
}

// --- the room ---------------------------------------------------------------------------------

/** The deadline in a few words for the header's one line ("Dijawab ≤ 3 Des, 08.00"). */
function dueShort(c) {
  if (!c || c.status === "closed") return "";
  const sla = c.sla || {};
  if (sla.state === "met") return t("due.met");
  if (sla.paused) return t("due.paused");
  if (sla.due_at) return t("due.short", { date: fmt.dayMonthTime(sla.due_at, tzOf(c)) });
  return "";
}

/**
 * The room's header: back, the number and subject, and one line (status · deadline) that opens the
 * details (office, officer, the whole deadline) on a tap; closing the consultation sits in a menu.
 */
function roomHead(room, c) {
  const open = room.head.querySelector("details.room-details")?.open || false;
  const menu = c.status !== "closed"
    ? h("details", { class: "menu room-menu" },
      h("summary", { class: "btn ghost small", "aria-label": t("room.menu"), title: t("room.menu"), text: "⋯" }),
      h("div", { class: "menu-list" },
        // An in-person visit: book one, or move or cancel the booked one (visit.js).
        visitActions(c).map((a) => h("button", { type: "button", text: a.label, onclick: (ev) => {
          ev.currentTarget.closest("details").open = false;
          a.run();
        } })),
        h("button", { type: "button", text: t("room.close"), onclick: (ev) => {
          ev.currentTarget.closest("details").open = false;
          closeRoom(room);
        } })))
    : null;
  const short = dueShort(c);
  fill(room.head,
    h("a", { class: "back", href: "#/list", "aria-label": t("room.back"), text: "←" }),
    h("div", { class: "room-title" },
      h("h1", { tabindex: "-1" }, h("span", { class: "c-number", text: c.number || "" }), " ", c.subject || ""),
      h("details", { class: "room-details", open },
        h("summary", { class: "room-sub" }, statusBadge(c),
          short ? h("span", { class: `c-due-short${c.sla && c.sla.state === "met" ? " met" : ""}`, text: short }) : null),
        h("dl", { class: "room-facts" },
          h("dt", { text: t("new.subject") }), h("dd", { text: c.subject || "" }),
          h("dt", { text: t("new.office") }), h("dd", { class: "room-office", text: officeName(c.office) }),
          c.assigned_to ? [h("dt", { text: t("room.officer") }), h("dd", { text: c.assigned_to.name })] : null,
          dueText(c) ? [h("dt", { text: t("room.deadline") }),
            h("dd", { class: `c-due${c.sla && c.sla.state === "met" ? " met" : ""}`, text: dueText(c) })] : null))),
    menu);
  if (c.status === "closed") {
    const mailBtn = h("button", { type: "button", class: "btn small", text: t("room.transcript.email") });
    mailBtn.addEventListener("click", async () => {
      mailBtn.disabled = true;
      try {
        await api("POST", `/consultations/${c.id}/transcript/email`);
        toast(t("room.transcript.sent"));
      } catch (err) {
        toast(errorText(err), "error");
      } finally {
        mailBtn.disabled = false;
      }
    });
    fill(room.footer,
      h("p", { text: t("room.closed") }),
      h("div", { class: "actions wrap" },
        c.rating ? null : h("a", { class: "btn primary small", href: `/rate?c=${encodeURIComponent(c.id)}`, text: t("room.rate") }),
        h("a", { class: "btn small", href: `/api/v1/consultations/${encodeURIComponent(c.id)}/transcript`, target: "_blank",
          rel: "noopener noreferrer", text: t("room.transcript") }),
        mailBtn));
    room.footer.hidden = false;
  } else {
    room.footer.hidden = true;
  }
}

async function closeRoom(room) {
  const ok = await confirmModal(t("room.close.confirm"), t("room.close"), t("console.cancel"));
  if (!ok) return;
  try {
    const c = await api("POST", `/consultations/${room.id}/close`, {});
    room.setConsultation(c);
  } catch (err) {
    toast(errorText(err), "error");
  }
}

async function viewRoom(id) {
  if (!OBJECT_ID.test(id)) {
    show(page(t("err.not_found")), "room");
    return;
  }
  const room = new ChatRoom({ socket, id, me, staff: false, tz: "Asia/Jakarta",
    onConsultation: (c) => {
      room.tz = tzOf(c);
      roomHead(room, c);
    } });
  const wrap = h("div", { class: "portal-room" }, room.el);
  show(wrap, "room", () => hub?.remove(id));
  try {
    await hub.add(room);
  } catch (err) {
    fill(room.log, h("p", { class: "error", role: "alert", text: errorText(err) }));
  }
}

// --- routing ----------------------------------------------------------------------------------

async function render() {
  const { parts, params } = route();
  const name = parts[0] || (me ? "list" : "login");
  if (["login", "register", "registered", "forgot"].includes(name)) {
    if (me && name === "login") return go("#/list");
    if (name === "login") return viewLogin(params);
    if (name === "register") return viewRegister();
    if (name === "registered") return viewRegistered(params);
    return viewForgot();
  }
  if (!me) {
    afterLogin = location.hash || "#/list";
    return viewLogin(params);
  }
  if (STAFF_ROLES.has(me.role)) return viewStaffNotice();
  if (name === "new") return viewNew(params);
  if (name === "c" && parts[1]) return viewRoom(parts[1]);
  return viewList();
}

async function boot() {
  initLayout();
  window.addEventListener("hashchange", render);
  // An open menu (the room's) closes when the user taps elsewhere.
  document.addEventListener("click", (ev) => {
    for (const d of document.querySelectorAll("details.menu[open]")) if (!d.contains(ev.target)) d.open = false;
  });
  onLangChange(() => {
    renderNav();
    if (view && view.name !== "room") render();
    else if (view) {
      const r = hub && [...hub.rooms.values()][0];
      if (r) r.relabel();
      if (r && r.c) roomHead(r, r.c);
    }
  });
  try {
    const list = await offices();
    officeMap = new Map(list.map((o) => [o.code, o]));
  } catch {
    officeMap = new Map();
  }
  try {
    const user = await currentUser();
    if (user) signedIn(user);
  } catch (err) {
    toast(errorText(err), "error");
  }
  renderNav();
  render();
}

boot();

