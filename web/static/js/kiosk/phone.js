// The ticket on the visitor's phone (/ticket?id=…&t=…, from the QR code on the ticket): the live
// position and estimated wait, and a clear signal when the number is called.
import { api, errorText } from "../api.js";
import { $, fill, h } from "../dom.js";
import { applyI18n, lang, setLang, t } from "../i18n.js";
import { BOARD_WATCH, QUEUE_BOARD } from "../rt.js";

const params = new URLSearchParams(location.search);
const id = params.get("id") || "";
const token = params.get("t") || "";
let last = null;

function statusLine(tk) {
  if (tk.status === "waiting") return t("phone.waiting", { n: tk.position - 1, m: tk.estimated_wait_minutes });
  if (tk.status === "called") return t("phone.called", { desk: tk.desk || "–" });
  if (tk.status === "serving") return t("phone.serving", { desk: tk.desk || "–" });
  if (tk.status === "done") return t("phone.done");
  return t("phone.no_show");
}

function render(tk) {
  const wasCalled = last && last.status === "waiting" && tk.status === "called";
  last = tk;
  document.title = `${tk.number} — ${t("phone.title")}`;
  fill(
    $("#phone-main"),
    h("p", { class: "phone-office", text: tk.office_name }),
    h("p", { class: "ticket-label", text: t("kiosk.ticket.label") }),
    h("p", { class: `phone-number status-${tk.status}`, id: "phone-number", text: tk.number }),
    h("p", { class: `phone-status status-${tk.status}`, id: "phone-status", role: "status", text: statusLine(tk) }),
    // The SKM survey of this visit (issue 13): the ticket's own token opens it.
    tk.status === "done"
      ? h("div", { id: "rating-slot", class: "rating-slot", dataset: { ticketId: tk.id, consultationId: tk.consultation_id || "" } },
        h("p", { text: t("skm.phone.lead") }),
        h("a", { class: "btn primary big", id: "skm-link", text: t("skm.phone.cta"),
          href: `/survey?ticket=${encodeURIComponent(tk.id)}&t=${encodeURIComponent(token)}` }))
      : null,
  );
  if (wasCalled && navigator.vibrate) navigator.vibrate([300, 150, 300]);
}

async function refresh() {
  try {
    render(await api("GET", `/queue/tickets/${encodeURIComponent(id)}?token=${encodeURIComponent(token)}`).then((b) => ({ ...b.ticket, position: b.position, estimated_wait_minutes: b.estimated_wait_minutes })));
    return true;
  } catch (e) {
    fill($("#phone-main"), h("p", { class: "k-error", text: e.status === 404 ? t("phone.not_found") : errorText(e) }));
    return false;
  }
}

async function start() {
  applyI18n();
  const btn = $("#lang-switch");
  fill(btn, lang() === "en" ? "Bahasa Indonesia" : "English");
  btn.addEventListener("click", () => {
    setLang(lang() === "en" ? "id" : "en");
    fill(btn, lang() === "en" ? "Bahasa Indonesia" : "English");
    if (last) render(last);
  });
  if (!(await refresh()) || !last) return;
  // The office's board events say when to look again; the socket reconnects by itself.
  const socket = window.io("/board", { path: "/socket.io", transports: ["websocket"] });
  socket.on("disconnect", (reason) => {
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1500);
  });
  socket.on("connect", () => {
    socket.emit(BOARD_WATCH, { office: last.office }, () => void refresh());
  });
  socket.on(QUEUE_BOARD, (board) => {
    if (board && board.office === last.office && !["done", "no_show"].includes(last.status)) void refresh();
  });
}

void start();
