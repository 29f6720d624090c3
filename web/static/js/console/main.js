// The officer console (/console/): the office queue, my rooms with live badges, several rooms open
// side by side, notes, canned responses, transfer, close, clarification, escalation, delivery log;
// and the knowledge base (#kb…, see kb_admin.js), with drafts made from closed consultations.
//
// The entry: builds the screen's state and its parts, signs in, wires the socket's events to the
// parts. The parts reach each other through `ui` ({state, shell, queue, mine, panes, ...}), so no
// module imports another part's functions and none keeps state at module level.
import { currentUser, errorText, forgetSession, offices } from "../api.js";
import { RoomHub, refusedForAuth } from "../chat.js";
import { $, fill, h } from "../dom.js";
import { chosenHere, lang, onLangChange, setLang, t } from "../i18n.js";
import { initLayout, setSignedIn, toast } from "../layout.js";
import { CONSULTATION_UPDATED, MESSAGE_NEW, MESSAGE_READ, QUEUE_UPDATED, ROOM_ACTIVITY, SESSION_ENDED, openSocket } from "../rt.js";
import { createAlerts } from "./alerts.js";
import { COMPLAINT_ALERT } from "../rt.js";
import { createCanned } from "./canned.js";
import { createComplaints } from "./complaints.js";
import { createDashboard } from "./dashboard.js";
import { createDesk } from "./desk.js";
import { createDialogs } from "./dialogs.js";
import { KbAdmin, parseRoute } from "./kb_admin.js";
import { logoutButton, showLogin } from "./login.js";
import { createHistory } from "./history.js";
import { createIkm } from "./ikm.js";
import { createMine } from "./mine.js";
import { createOverview } from "./overview.js";
import { createPanes } from "./panes.js";
import { createQueue } from "./queue.js";
import { createRoomHead } from "./room_head.js";
import { createShell } from "./shell.js";
import { DEFAULT_TZ, createState, forgetSignedIn } from "./state.js";

const STAFF_ROLES = new Set(["officer", "supervisor", "admin"]);

/** The screen: its state and every part, each given the whole so they can call one another. */
function createUi() {
  const ui = { state: createState() };
  ui.shell = createShell(ui);
  ui.queue = createQueue(ui);
  ui.mine = createMine(ui);
  ui.panes = createPanes(ui);
  ui.roomHead = createRoomHead(ui);
  ui.dialogs = createDialogs(ui);
  ui.canned = createCanned(ui);
  ui.alerts = createAlerts(ui);
  ui.desk = createDesk(ui);
  ui.overview = createOverview(ui);
  ui.history = createHistory(ui);
  ui.dashboard = createDashboard(ui);
  ui.complaints = createComplaints(ui);
  ui.ikm = createIkm(ui);
  // Views beyond rooms, knowledge base and desk, each with its own address (shell.js routes them).
  ui.views = [ui.overview, ui.history, ui.dashboard, ui.complaints, ui.ikm];
  return ui;
}

function setConnection(online) {
  const el = $("#conn");
  if (!el) return;
  el.hidden = online;
  el.textContent = online ? "" : t("room.offline");
}

async function start(ui, user) {
  const { state } = ui;
  if (!STAFF_ROLES.has(user.role)) {
    showLogin(t("auth.staff.only"), (u) => start(ui, u));
    fill($("#nav"), h("span", { class: "who", text: user.name }), logoutButton());
    return;
  }
  state.me = user;
  setSignedIn(true);
  state.office = user.office || [...state.offices.keys()][0] || null;
  state.kbAdmin = new KbAdmin({ me: user, offices: state.offices, navigate: ui.shell.navigate,
    tz: () => state.offices.get(user.office || state.office)?.time_zone || DEFAULT_TZ });
  if (parseRoute(location.hash)) state.view = "kb";
  else if (location.hash === "#desk") state.view = "desk";
  else if (ui.shell.viewFor(location.hash)) state.view = ui.shell.viewFor(location.hash).name;
  // The profile's language is applied only now that every view exists: the language listener
  // then renders the screen in it; otherwise it is rendered here.
  if (!chosenHere() && user.lang && user.lang !== lang()) setLang(user.lang);
  else ui.shell.render();
  if (state.view === "kb") state.kbAdmin.go(location.hash);
  else if (ui.shell.viewFor(location.hash)) ui.shell.viewFor(location.hash).go(location.hash);
  watch(ui, openSocket());
  await Promise.all([ui.queue.load(), ui.mine.load()]);
  ui.panes.restore();
}

/** Route the socket's events to the parts; a refused session goes back to the login form. */
function watch(ui, socket) {
  const { state } = ui;
  state.socket = socket;
  state.hub = new RoomHub(socket, { onStatus: setConnection });
  // The session is over (refused at connect, or ended by logout elsewhere, a password reset or a
  // disabled account while connected: the server then disconnects): back to the login form.
  const sessionEnded = () => {
    forgetSession();
    socket.off();
    socket.disconnect();
    setConnection(true);
    forgetSignedIn(state);
    showLogin(t("err.unauthenticated"), (u) => start(ui, u));
  };
  socket.on("connect_error", (err) => {
    setConnection(false);
    if (refusedForAuth(err)) sessionEnded();
  });
  socket.on(SESSION_ENDED, sessionEnded);
  let connectedBefore = false;
  socket.on("connect", () => {
    // After a reconnect, whatever changed while we were away: reload both lists.
    if (connectedBefore) {
      ui.queue.load();
      ui.mine.load();
    }
    connectedBefore = true;
  });
  socket.on(QUEUE_UPDATED, (p) => {
    ui.queue.onQueue(p);
    ui.alerts.onQueue(p);
    ui.overview.changed(p && p.office);
  });
  const onActivity = (p) => {
    if (!p || !p.consultation) return;
    const wasMine = state.mine.has(p.consultation.id);
    ui.mine.onActivity(p.consultation);
    ui.alerts.onUpdated(p.consultation, wasMine);
    ui.alerts.onActivity(p, wasMine);
    ui.queue.onActivity(p.consultation);
    ui.overview.changed(p.consultation.office);
  };
  // The office's rooms that moved in the last moment, gathered into one event (each room once, newest).
  socket.on(ROOM_ACTIVITY, (p) => {
    for (const item of (p && Array.isArray(p.items) ? p.items : [])) onActivity(item);
  });
  // A room this console has joined gets each message once, as message:new: the server leaves that
  // room out of the room:activity it sends to this socket. The lists and alerts follow it here.
  socket.on(MESSAGE_NEW, (m) => {
    if (!m || !m.consultation_id || m.kind === "note") return;
    const known = state.mine.get(m.consultation_id) || state.queue.find((x) => x.id === m.consultation_id);
    if (!known) return;
    const consultation = {
      ...known,
      last_message: lastMessageOf(m),
      last_message_at: m.created_at,
      last_seq: Math.max(known.last_seq || 0, m.seq || 0),
      last_visible_seq: Math.max(known.last_visible_seq || 0, m.seq || 0),
    };
    onActivity({ consultation_id: m.consultation_id, message: m, consultation });
  });
  socket.on(CONSULTATION_UPDATED, (c) => {
    if (!c || !c.id) return;
    const wasMine = state.mine.has(c.id);
    ui.mine.upsert(c);
    ui.alerts.onUpdated(c, wasMine);
    ui.queue.onUpdated(c);
    ui.overview.changed(c.office);
  });
  socket.on(COMPLAINT_ALERT, (p) => ui.complaints.onAlert(p));
  socket.on(MESSAGE_READ, (p) => {
    if (p && state.me && p.user_id === state.me.id) ui.mine.setRead(p.consultation_id, p.seq);
  });
}

// As long as the server's previews (server/domain/models.py PREVIEW_CHARS).
const PREVIEW_CHARS = 140;

/** What a consultation keeps of its last message for the lists (server: messages.preview, models._last_message). */
function lastMessageOf(m) {
  const text = m.kind === "file" && m.attachment ? `📎 ${m.attachment.filename || ""}` : m.text || "";
  const out = { seq: m.seq, kind: m.kind, text: text.slice(0, PREVIEW_CHARS), author_name: m.author?.name, created_at: m.created_at };
  if (m.texts) out.texts = Object.fromEntries(Object.entries(m.texts).map(([lang, s]) => [lang, String(s).slice(0, PREVIEW_CHARS)]));
  return out;
}

async function boot() {
  initLayout();
  const ui = createUi();
  document.addEventListener("visibilitychange", () => {
    ui.mine.paint();
    ui.panes.paintTabs();
  });
  document.addEventListener("click", (ev) => {
    for (const d of document.querySelectorAll("details.menu[open]")) if (!d.contains(ev.target)) d.open = false;
  });
  window.addEventListener("hashchange", ui.shell.route);
  onLangChange(() => {
    if (!ui.state.me) return showLogin(undefined, (u) => start(ui, u));
    ui.panes.rebuild(ui.shell.render);
  });
  try {
    ui.state.offices = new Map((await offices()).map((o) => [o.code, o]));
  } catch {
    // the office names are missing; the console still works with the codes
  }
  let user = null;
  try {
    user = await currentUser();
  } catch (err) {
    toast(errorText(err), "error");
  }
  if (user) start(ui, user);
  else showLogin(undefined, (u) => start(ui, u));
}

boot();
