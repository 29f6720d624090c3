// The officer's walk-in desk inside the console (#desk): call the next visitor (priority first),
// call again, start serving, mark a no-show, finish with a topic and a summary (which records the
// walk-in consultation), and a timer of how long the next visitor has waited since the previous
// finish, amber two minutes before the office's promise (10 minutes) and red past it.
// Live through the public /board namespace: every change of the office's queue reloads the desk.
import { api, errorText } from "../api.js";
import { $, fill, h } from "../dom.js";
import { t } from "../i18n.js";
import { toast } from "../layout.js";
import { BOARD_WATCH, QUEUE_BOARD } from "../rt.js";

const DESK_KEY = "pst.desk";
const TOPICS = ["data", "metadata", "classification", "other"];

function storedDesk() {
  try {
    return localStorage.getItem(DESK_KEY) || "1";
  } catch {
    return "1";
  }
}

function mmss(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/** The desk view of the console `ui`; its element is `el`, shown when the hash is #desk. */
export function createDesk(ui) {
  const { state } = ui;
  const el = h("section", { class: "desk-view", id: "desk-view", hidden: true, "aria-labelledby": "desk-h" });
  // `name`: this PC's desk, kept here so a repaint (every queue change) never loses what is being typed.
  // `drafts`: ticket id -> {topic, summary} being written, for the same reason.
  const desk = { data: null, skew: 0, socket: null, office: null, finishing: null, tick: null, busy: false,
    name: storedDesk(), drafts: new Map() };
  state.desk = desk;

  function office() {
    return state.office;
  }

  async function load() {
    if (!office()) return;
    try {
      const data = await api("GET", `/offices/${office()}/queue/desk`);
      desk.data = data;
      desk.skew = Date.parse(data.now) - Date.now();
      paint();
    } catch (err) {
      fill(el, h("p", { class: "error", text: errorText(err) }));
    }
    loadSummary();
  }

  async function loadSummary() {
    try {
      const s = await api("GET", `/offices/${office()}/queue/summary`);
      const line = $("#desk-summary", el);
      if (line) {
        fill(line, t("desk.summary", { tickets: s.tickets, served: s.served, kept: s.promise_kept,
          measured: s.promise_kept + s.promise_broken }));
      }
    } catch {
      // the figures are a nicety; the desk works without them
    }
  }

  async function act(path, body, okText) {
    if (desk.busy) return null;
    desk.busy = true;
    try {
      const out = await api("POST", path, body);
      if (okText) toast(okText, "ok");
      await load();
      return out;
    } catch (err) {
      toast(errorText(err), "error");
      await load();
      return null;
    } finally {
      desk.busy = false;
    }
  }

  function guestBlock(tk) {
    const g = tk.guest;
    if (!g) return h("p", { class: "muted small", text: "—" });
    const idLine = g.id_number
      ? h("p", { class: "desk-id" }, `${(g.id_type || "").toUpperCase()} `, h("span", { class: "desk-id-number", text: g.id_number }), " ",
        g.id_masked ? h("button", { type: "button", class: "btn small ghost desk-reveal", title: t("desk.reveal.note"), text: t("desk.reveal"),
          onclick: async (ev) => {
            try {
              const out = await api("POST", `/guestbook/${g.id}/reveal-id`);
              fill(ev.target.parentElement.querySelector(".desk-id-number"), out.entry.id_number);
              ev.target.remove();
            } catch (err) {
              toast(errorText(err), "error");
            }
          } }) : null)
      : null;
    return h("div", { class: "desk-guest" },
      h("p", { class: "desk-guest-name", text: g.name }),
      h("p", { class: "small", text: [g.institution, g.occupation].filter(Boolean).join(" · ") }),
      h("p", { class: "desk-purpose", text: g.purpose }),
      h("p", { class: "small muted", text: [g.email, g.phone].filter(Boolean).join(" · ") }),
      idLine);
  }

  function finishForm(tk) {
    const draft = desk.drafts.get(tk.id) || { topic: (tk.guest && tk.guest.topic) || "", summary: "" };
    desk.drafts.set(tk.id, draft);
    const summary = h("textarea", { id: `finish-summary-${tk.id}`, name: "summary", rows: "3", maxlength: "4000" });
    summary.value = draft.summary;
    const form = h("form", { class: "desk-finish", id: `finish-${tk.id}` },
      h("p", { class: "desk-finish-title", text: t("desk.finish.title", { number: tk.number }) }),
      h("label", { class: "field" }, h("span", { text: t("desk.finish.topic") }),
        h("select", { id: `finish-topic-${tk.id}`, name: "topic" }, TOPICS.map((x) => h("option", { value: x, text: t(`topic.${x}`), selected: draft.topic === x })))),
      h("label", { class: "field" }, h("span", { text: t("desk.finish.summary") }), summary),
      h("div", { class: "row" },
        h("button", { type: "submit", class: "btn primary", text: t("desk.finish.save") }),
        h("button", { type: "button", class: "btn ghost", text: t("kiosk.cancel"), onclick: () => { desk.finishing = null; paint(); } })));
    form.addEventListener("input", () => {
      const fd = new FormData(form);
      desk.drafts.set(tk.id, { topic: String(fd.get("topic") || ""), summary: String(fd.get("summary") || "") });
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const fd = new FormData(form);
      const body = { topic: fd.get("topic") || undefined, summary: String(fd.get("summary") || "").trim() || undefined };
      desk.finishing = null;
      desk.drafts.delete(tk.id);
      await act(`/queue/tickets/${tk.id}/done`, body, t("desk.status.done"));
    });
    return form;
  }

  function myCard(tk) {
    const actions = tk.status === "called"
      ? [h("button", { type: "button", class: "btn primary", text: t("desk.serve"), onclick: () => act(`/queue/tickets/${tk.id}/serve`) }),
        h("button", { type: "button", class: "btn", text: t("desk.recall"), onclick: () => act(`/queue/tickets/${tk.id}/recall`, {}) }),
        h("button", { type: "button", class: "btn danger-ghost", text: t("desk.no_show"), onclick: () => act(`/queue/tickets/${tk.id}/no-show`) })]
      : [];
    actions.push(h("button", { type: "button", class: "btn primary desk-finish-btn", text: t("desk.finish"),
      onclick: () => { desk.finishing = tk.id; paint(); } }));
    return h("li", { class: `desk-card status-${tk.status}`, dataset: { id: tk.id, number: tk.number } },
      h("div", { class: "desk-card-head" },
        h("span", { class: "desk-number", text: tk.number }),
        tk.priority ? h("span", { class: "badge prio", text: t(`kiosk.priority.${tk.priority}`) }) : null,
        h("span", { class: "desk-status", text: `${t(`desk.status.${tk.status}`)} · ${t("desk.desk")} ${tk.desk || "–"}` })),
      guestBlock(tk),
      desk.finishing === tk.id ? finishForm(tk) : h("div", { class: "row desk-actions" }, actions));
  }

  function waitingRow(tk) {
    return h("li", { class: "desk-row", dataset: { number: tk.number } },
      h("b", { text: tk.number }),
      tk.priority ? h("span", { class: "badge prio", text: t(`kiosk.priority.${tk.priority}`) }) : null,
      h("span", { class: "desk-row-name", text: tk.guest ? tk.guest.name : "—" }),
      h("span", { class: "muted small", text: tk.guest ? tk.guest.purpose : "" }));
  }

  function paintTimer() {
    const box = $("#desk-timer", el);
    if (!box || !desk.data) return;
    const d = desk.data;
    const limit = (d.rules && d.rules.service_minutes) || 10;
    if (!d.next_ref_at) {
      box.className = "desk-timer idle";
      fill(box, h("span", { class: "desk-timer-label", text: t("desk.timer.idle") }));
      return;
    }
    const ms = Date.now() + desk.skew - Date.parse(d.next_ref_at);
    const min = ms / 60000;
    box.className = "desk-timer " + (min >= limit ? "red" : min >= limit - 2 ? "amber" : "ok");
    fill(box, h("span", { class: "desk-timer-value", id: "desk-timer-value", text: mmss(ms) }),
      h("span", { class: "desk-timer-label", text: t("desk.timer") }));
  }

  /** Paint again after a queue change, keeping the focus and caret where the officer was typing. */
  function paint() {
    const active = document.activeElement;
    const focusId = active && el.contains(active) && active.id ? active.id : null;
    const caret = focusId && typeof active.selectionStart === "number" ? [active.selectionStart, active.selectionEnd] : null;
    paintAll();
    const again = focusId ? document.getElementById(focusId) : null;
    if (again) {
      again.focus({ preventScroll: true });
      if (caret && typeof again.setSelectionRange === "function") again.setSelectionRange(caret[0], caret[1]);
    }
  }

  function paintAll() {
    const d = desk.data;
    if (!d) return;
    const mine = d.mine || [];
    const others = [...(d.called || []), ...(d.serving || [])].filter((tk) => !mine.some((m) => m.id === tk.id));
    const deskInput = h("input", { id: "desk-name", class: "desk-name", value: desk.name, maxlength: "20",
      "aria-label": t("desk.desk") });
    deskInput.addEventListener("input", () => {
      desk.name = deskInput.value;
      try {
        localStorage.setItem(DESK_KEY, deskInput.value.trim() || "1");
      } catch {
        // not remembered on this PC
      }
    });
    const callBtn = h("button", { type: "button", id: "desk-call", class: "btn primary big", text: t("desk.call_next"),
      disabled: !(d.waiting || []).length,
      onclick: () => act(`/offices/${office()}/queue/next`, { desk: desk.name.trim() || "1" }) });
    fill(el,
      h("div", { class: "desk-top" },
        h("h2", { id: "desk-h", text: t("desk.title") }),
        h("label", { class: "desk-name-label" }, t("desk.desk"), " ", deskInput),
        callBtn,
        h("div", { id: "desk-timer", class: "desk-timer", role: "timer", "aria-live": "off" })),
      h("p", { id: "desk-summary", class: "muted small" }),
      h("div", { class: "desk-cols" },
        h("section", { "aria-labelledby": "desk-mine-h" },
          h("h3", { id: "desk-mine-h", text: t("desk.mine") }),
          mine.length ? h("ul", { class: "desk-cards", id: "desk-mine" }, mine.map(myCard)) : h("p", { class: "muted", text: "—" }),
          others.length ? h("ul", { class: "desk-list" }, others.map((tk) => h("li", {},
            h("b", { text: tk.number }), ` · ${t(`desk.status.${tk.status}`)} · ${t("desk.desk")} ${tk.desk || "–"}`,
            tk.officer ? ` · ${tk.officer.name}` : ""))) : null),
        h("section", { "aria-labelledby": "desk-wait-h" },
          h("h3", { id: "desk-wait-h", text: t("desk.waiting", { n: (d.waiting || []).length }) }),
          (d.waiting || []).length ? h("ol", { class: "desk-list", id: "desk-waiting" }, d.waiting.map(waitingRow)) : h("p", { class: "muted", text: t("desk.empty") }),
          h("h3", { text: t("desk.recent") }),
          h("ul", { class: "desk-list", id: "desk-recent" }, (d.recent || []).map((tk) => h("li", {},
            h("b", { text: tk.number }), ` · ${t(`desk.status.${tk.status}`)}`,
            tk.promise ? h("span", { class: `badge ${tk.promise.kept ? "ok" : "late"}`, text: t(tk.promise.kept ? "desk.promise.kept" : "desk.promise.broken") }) : null))))));
    paintTimer();
  }

  function watch() {
    if (desk.socket || !window.io) return;
    const socket = window.io("/board", { path: "/socket.io", transports: ["websocket"] });
    desk.socket = socket;
    socket.on("disconnect", (reason) => {
      if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1500);
    });
    socket.on("connect", () => {
      if (office()) socket.emit(BOARD_WATCH, { office: office() }, () => void load());
    });
    socket.on(QUEUE_BOARD, (board) => {
      if (board && board.office === office() && !el.hidden) void load();
    });
  }

  /** Show the desk (the #desk view): load it, follow the office's board, tick the timer. */
  function show() {
    el.hidden = false;
    if (desk.office !== office() && desk.socket) {
      desk.socket.emit(BOARD_WATCH, { office: office() }, () => {});
    }
    desk.office = office();
    watch();
    void load();
    clearInterval(desk.tick);
    desk.tick = setInterval(paintTimer, 1000);
  }

  function hide() {
    el.hidden = true;
    clearInterval(desk.tick);
  }

  return { el, show, hide, load, paint };
}
