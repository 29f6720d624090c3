// The office's queue: consultations waiting for an officer, each with a claim button.
import { api, errorText } from "../api.js";
import { $, fill, h } from "../dom.js";
import * as fmt from "../fmt.js";
import { t } from "../i18n.js";
import { toast } from "../layout.js";
import { channelBadge, channelFilter, inChannel, lastLine, slaBadge } from "./badges.js";
import { tzOf } from "./state.js";

/** The queue of the screen `ui` (state.queue holds the consultations). */
export function createQueue(ui) {
  const { state } = ui;

  function paint() {
    const ul = $("#queue");
    if (!ul) return;
    // The channel filter sits above the list (one per screen, shared with my rooms).
    if (!ul.previousElementSibling?.classList?.contains("channel-filter")) {
      ul.before(channelFilter(state, () => { paint(); ui.mine.paint(); }));
    }
    const queue = state.queue.filter((c) => inChannel(state, c));
    $("#queue-count").textContent = queue.length ? `(${queue.length})` : "";
    ui.alerts.paintTitle();
    if (!queue.length) {
      fill(ul, h("li", { class: "empty muted", text: t("console.queue.empty") }));
      return;
    }
    fill(ul, queue.map((c) => h("li", { class: "q-item", dataset: { id: c.id } },
      h("div", { class: "q-main" },
        h("div", { class: "q-top" }, h("strong", { class: "c-number", text: c.number || "" }), " ", channelBadge(c), " ",
          slaBadge(c, tzOf(state, c))),
        h("div", { class: "c-subject", text: c.subject || "" }),
        h("div", { class: "muted small", text: `${c.user?.name || ""}${c.contact?.address ? ` (${c.contact.address})` : ""} · ${t("console.received", { date: fmt.shortDateTime(c.created_at, tzOf(state, c)) })}` }),
        lastLine(c) ? h("div", { class: "c-last muted small", text: lastLine(c) }) : null),
      h("button", { type: "button", class: "btn primary small claim", text: t("console.claim"),
        "aria-label": `${t("console.claim")} ${c.number || ""}`, onclick: (ev) => claim(c, ev.currentTarget) }))));
  }

  async function load() {
    if (!state.office) return;
    try {
      const body = await api("GET", `/offices/${encodeURIComponent(state.office)}/consultations/queue`);
      state.queue = body.consultations || [];
      ui.alerts.knowQueue();
    } catch (err) {
      toast(errorText(err), "error");
    }
    paint();
  }

  async function claim(c, btn) {
    btn.disabled = true;
    ui.alerts.claiming(c.id);
    try {
      const claimed = await api("POST", `/consultations/${c.id}/claim`);
      state.queue = state.queue.filter((x) => x.id !== c.id);
      paint();
      ui.mine.upsert(claimed);
      toast(t("console.claimed"));
      ui.panes.open(claimed.id);
    } catch (err) {
      toast(errorText(err), "error");
      btn.disabled = false;
      load();
    }
  }

  /** The server sent an office's whole queue. */
  function onQueue(p) {
    if (p && p.office === state.office) {
      state.queue = p.queue || [];
      paint();
    }
  }

  /** A consultation moved (a message, a claim...): refresh its entry if it is queued here. */
  function onActivity(c) {
    const q = state.queue.findIndex((x) => x.id === c.id);
    if (q >= 0) {
      state.queue[q] = c;
      paint();
    }
  }

  /** A consultation changed: once it is no longer queued it leaves the list. */
  function onUpdated(c) {
    if (c.status !== "queued" && state.queue.some((x) => x.id === c.id)) {
      state.queue = state.queue.filter((x) => x.id !== c.id);
      paint();
    }
  }

  return { paint, load, onQueue, onActivity, onUpdated };
}
