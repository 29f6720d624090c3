// Alerts for new work: a consultation waiting in the queue, a room transferred to me, a message in
// a room I hold that I am not looking at. The page title counts what waits for me; a short chime
// (optional, remembered on this device) and the browser's notifications (asked for on a click) tell
// me while the tab is in the background.
import { localText } from "../chat.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { unreadOf } from "./state.js";

const SOUND_KEY = "pst.console.sound";
const CHIME_HZ = [880, 1320];
const CHIME_NOTE_SECS = 0.12;

function soundOn() {
  try {
    return localStorage.getItem(SOUND_KEY) === "1";
  } catch {
    return false;
  }
}

/** The alerts of the screen `ui`: wired to the socket's events by main.js, controls in the nav. */
export function createAlerts(ui) {
  const { state } = ui;
  const queued = new Set(); // ids seen in the queue, so only newcomers alert
  const claiming = new Set(); // ids I am claiming myself: their assignment to me is no news
  let queueKnown = false;
  let audio = null;

  /** "(3) Konsol petugas — PST Konsultasi": unread messages in my rooms plus the waiting queue. */
  function paintTitle() {
    if (!state.me) return;
    let n = state.queue.length;
    for (const id of state.mine.keys()) n += unreadOf(state, id);
    const base = `${t("console.title")} — ${t("app.name")}`;
    document.title = n ? `(${n}) ${base}` : base;
  }

  function chime() {
    if (!soundOn()) return;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    try {
      audio = audio || new Ctx();
      const start = audio.currentTime;
      CHIME_HZ.forEach((hz, i) => {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.frequency.value = hz;
        gain.gain.value = 0.08;
        osc.connect(gain).connect(audio.destination);
        osc.start(start + i * CHIME_NOTE_SECS);
        osc.stop(start + (i + 1) * CHIME_NOTE_SECS);
      });
    } catch {
      // no sound on this device: the title and the notification still tell
    }
  }

  /** Tell: the chime, and a notification unless the page is in front of me. */
  function tell(title, body, tag, onClick) {
    chime();
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (document.visibilityState === "visible" && document.hasFocus()) return;
    try {
      const note = new Notification(title, { body, tag, icon: "/static/img/favicon.svg" });
      note.onclick = () => {
        window.focus();
        if (onClick) onClick();
        note.close();
      };
    } catch {
      // some browsers only notify from a service worker: the title and chime remain
    }
  }

  /** Whether room `id` is on my screen right now (then its messages need no alert). */
  function watching(id) {
    const pane = state.panes.get(id);
    return Boolean(pane && pane.visible && document.visibilityState === "visible" && document.hasFocus());
  }

  /** The office's queue changed: a consultation not seen before is new work. */
  function onQueue(p) {
    if (!p || p.office !== state.office) return;
    const fresh = (p.queue || []).filter((c) => !queued.has(c.id));
    for (const c of p.queue || []) queued.add(c.id);
    if (queueKnown) {
      for (const c of fresh) {
        tell(t("alert.queue", { number: c.number || "" }), `${c.user?.name || ""}: ${c.subject || ""}`, `queue-${c.id}`,
          () => ui.shell.navigate("#rooms"));
      }
    }
    queueKnown = true;
    paintTitle();
  }

  /** The queue as loaded (at sign-in, after a reconnect): known, no alert. */
  function knowQueue() {
    for (const c of state.queue) queued.add(c.id);
    queueKnown = true;
    paintTitle();
  }

  /** A consultation changed: assigned to me by someone else is a transfer to me. */
  function onUpdated(c, wasMine) {
    if (!c || !state.me || wasMine || claiming.has(c.id)) return;
    if (c.status === "active" && c.assigned_to && c.assigned_to.id === state.me.id) {
      tell(t("alert.transferred", { number: c.number || "" }), `${c.user?.name || ""}: ${c.subject || ""}`,
        `mine-${c.id}`, () => ui.panes.open(c.id));
    }
  }

  /** A message in one of the office's rooms: mine already (`wasMine`), from someone else, not on my screen. */
  function onActivity(p, wasMine) {
    const c = p && p.consultation;
    const m = p && p.message;
    if (!c || !m || !state.me || !wasMine) return;
    if (m.kind === "note" || (m.author && m.author.id === state.me.id) || watching(c.id)) return;
    const who = m.author && m.author.role !== "system" ? m.author.name : t("alert.system");
    const text = m.kind === "file" ? m.attachment?.filename || "" : localText(m);
    tell(t("alert.message", { name: c.user?.name || c.number || "" }), `${who}: ${text}`.slice(0, 200), `msg-${c.id}`,
      () => ui.panes.open(c.id));
  }

  /** The nav's switches: the chime, and asking for notifications (only a click may ask). */
  function controls() {
    const sound = h("input", { type: "checkbox", id: "alert-sound", checked: soundOn() });
    sound.addEventListener("change", () => {
      try {
        localStorage.setItem(SOUND_KEY, sound.checked ? "1" : "0");
      } catch {
        // not remembered: on for this page only
      }
      if (sound.checked) chime();
    });
    const out = [h("label", { class: "alert-sound small", for: "alert-sound" }, sound, " ", t("alert.sound"))];
    if ("Notification" in window && Notification.permission === "default") {
      const ask = h("button", { type: "button", class: "btn ghost small", id: "alert-ask", text: t("alert.ask") });
      ask.addEventListener("click", async () => {
        try {
          await Notification.requestPermission();
        } finally {
          ask.remove();
        }
      });
      out.push(ask);
    }
    return out;
  }

  return {
    paintTitle, onQueue, knowQueue, onUpdated, onActivity, controls,
    /** I am claiming `id` myself (its assignment to me is no transfer). */
    claiming: (id) => claiming.add(id),
  };
}
