// The queue board on the waiting-room TV: called numbers and their desks, the waiting count and the
// estimated wait, live over the /board Socket.IO namespace (no login). A call chimes and is spoken
// in Indonesian; the same words stay on screen for anyone who cannot hear them.
import { api, offices } from "../api.js";
import { $, fill, h } from "../dom.js";
import { applyI18n, t } from "../i18n.js";
import { BOARD_WATCH, QUEUE_BOARD } from "../rt.js";
import { announcement } from "./announce.js";
import { chime, speak } from "./sound.js";

const FRESH_MS = 12000;
const params = new URLSearchParams(location.search);
const office = (params.get("office") || "").trim();

const state = {
  board: null,
  // ticket id -> the call already announced; the first board only fills it (no replay on load).
  announced: new Map(),
  primed: false,
  queue: [],
  speaking: false,
};

function timeText(tz) {
  try {
    return new Intl.DateTimeFormat("id-ID", { hour: "2-digit", minute: "2-digit", timeZone: tz }).format(new Date());
  } catch {
    return new Intl.DateTimeFormat("id-ID", { hour: "2-digit", minute: "2-digit" }).format(new Date());
  }
}

function tile(ticket, fresh) {
  return h(
    "li",
    { class: "call-tile" + (fresh ? " fresh" : ""), dataset: { id: ticket.id, number: ticket.number } },
    h("span", { class: "call-number", text: ticket.number }),
    h("span", { class: "call-desk" }, t("board.desk"), " ", h("b", { text: ticket.desk || "–" })),
  );
}

function render(board) {
  state.board = board;
  document.title = `${t("board.title")} — ${board.office_name || board.office}`;
  fill($("#office-name"), board.office_name || board.office);
  fill($("#clock"), timeText(board.time_zone));
  const now = Date.now();
  const called = board.called || [];
  fill(
    $("#called"),
    called.length
      ? called.map((tk) => tile(tk, tk.last_call_at && now - Date.parse(tk.last_call_at) < FRESH_MS))
      : h("li", { class: "board-empty", text: t("board.none_called") }),
  );
  fill(
    $("#serving"),
    (board.serving || []).length
      ? board.serving.map((tk) => h("li", {}, h("b", { text: tk.number }), " · ", t("board.desk"), " ", tk.desk || "–"))
      : h("li", { class: "board-empty", text: "–" }),
  );
  const waiting = board.waiting || [];
  fill($("#waiting-count"), String(waiting.length));
  fill($("#estimate"), waiting.length ? t("board.estimate", { n: board.estimated_wait_minutes }) : t("board.no_wait"));
  fill(
    $("#waiting"),
    waiting.slice(0, 24).map((tk) =>
      h("li", { class: tk.priority ? "prio" : "", title: tk.priority ? t(`kiosk.priority.${tk.priority}`) : null }, tk.number),
    ),
  );
  fill($("#done-today"), t("board.done_today", { n: board.done_today }));
  announceNew(called);
}

function announceNew(called) {
  for (const tk of [...called].reverse()) {
    // A recall counts even when the clock has not moved (recalls grows with each).
    const key = `${tk.last_call_at || tk.called_at || ""}|${tk.recalls || 0}`;
    if (state.announced.get(tk.id) === key) continue;
    state.announced.set(tk.id, key);
    if (state.primed) state.queue.push(tk);
  }
  state.primed = true;
  void playQueue();
}

async function playQueue() {
  if (state.speaking) return;
  state.speaking = true;
  try {
    while (state.queue.length) {
      const tk = state.queue.shift();
      const spoken = announcement(tk.number, tk.desk);
      // The visible fallback: the same call in words, on screen until the next one.
      fill($("#announce"), t("board.call", { number: tk.number, desk: tk.desk || "–" }));
      $("#announce").dataset.spoken = spoken;
      await chime();
      await speak(spoken);
    }
  } finally {
    state.speaking = false;
  }
}

function setConn(ok) {
  const el = $("#conn");
  el.hidden = ok;
  fill(el, ok ? "" : t("board.reconnecting"));
}

async function watch(socket) {
  let ack;
  try {
    ack = await socket.timeout(10000).emitWithAck(BOARD_WATCH, { office });
  } catch {
    setConn(false);
    return;
  }
  if (!ack || !ack.ok) {
    fill($("#board-main"), h("p", { class: "board-error", text: t("board.unknown_office") }));
    return;
  }
  setConn(true);
  render(ack.board);
}

async function chooseOffice() {
  const list = await offices().catch(() => []);
  fill(
    $("#board-main"),
    h("h1", { text: t("board.choose") }),
    h("ul", { class: "board-offices" }, list.map((o) => h("li", {}, h("a", { href: `/board?office=${o.code}`, text: o.name })))),
  );
}

function start() {
  applyI18n();
  if (!/^\d{4}$/.test(office)) {
    void chooseOffice();
    return;
  }
  $("#sound-on").addEventListener("click", async () => {
    await chime();
    $("#sound-on").hidden = true;
  });
  const socket = window.io("/board", { path: "/socket.io", transports: ["websocket"] });
  // Every (re)connection asks for the whole board again: nothing missed during a blip stays missed.
  socket.on("connect", () => void watch(socket));
  socket.on("disconnect", (reason) => {
    setConn(false);
    // A disconnect the server asked for is not retried by the client by itself.
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1500);
  });
  socket.io.on("reconnect_attempt", () => setConn(false));
  socket.on(QUEUE_BOARD, (board) => {
    if (board && board.office === office) render(board);
  });
  setInterval(() => {
    if (state.board) fill($("#clock"), timeText(state.board.time_zone));
  }, 15000);
  // A last resort if the socket stays down: the REST board every minute.
  setInterval(async () => {
    if (socket.connected) return;
    try {
      render(await api("GET", `/offices/${office}/queue`));
    } catch {
      // still offline; the banner says so
    }
  }, 60000);
}

start();
