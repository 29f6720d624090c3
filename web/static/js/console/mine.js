// My rooms: the active consultations assigned to me, newest activity first, with unread badges.
import { api, errorText } from "../api.js";
import { $, fill, h } from "../dom.js";
import { t } from "../i18n.js";
import { toast } from "../layout.js";
import { channelBadge, inChannel, lastLine, slaBadge, unreadBadge } from "./badges.js";
import { assignedToMe, tzOf, unreadOf } from "./state.js";

/** The "my rooms" list of the screen `ui` (state.mine and state.readSeq). */
export function createMine(ui) {
  const { state } = ui;

  /** Put a consultation in my rooms, or take it out when it is no longer mine and active. */
  function upsert(c) {
    if (!c || !c.id) return;
    if (assignedToMe(state, c)) state.mine.set(c.id, { ...(state.mine.get(c.id) || {}), ...c });
    else state.mine.delete(c.id);
    paint();
    ui.panes.paintTabs();
  }

  function paint() {
    const ul = $("#mine");
    if (!ul) return;
    const items = [...state.mine.values()].filter((c) => inChannel(state, c)).sort((a, b) =>
      String(b.last_message_at || b.claimed_at || "").localeCompare(String(a.last_message_at || a.claimed_at || "")));
    $("#mine-count").textContent = items.length ? `(${items.length})` : "";
    ui.shell.paintViewBadge();
    ui.alerts.paintTitle();
    if (!items.length) {
      fill(ul, h("li", { class: "empty muted", text: t("console.mine.empty") }));
      return;
    }
    fill(ul, items.map((c) => {
      const n = unreadOf(state, c.id);
      const open = state.panes.get(c.id);
      return h("li", { class: "m-item", dataset: { id: c.id } },
        h("button", { type: "button", class: `m-btn${open && open.visible ? " is-open" : ""}`,
          "aria-label": `${t("console.open.room", { name: c.user?.name || c.number })}${n ? `, ${t("list.unread", { n })}` : ""}`,
          onclick: () => ui.panes.open(c.id) },
          h("div", { class: "q-top" }, h("strong", { class: "m-name", text: c.user?.name || "" }),
            h("span", { class: "c-number muted small", text: c.number || "" }), unreadBadge(n, t("room.newmsg"))),
          h("div", { class: "c-subject", text: c.subject || "" }),
          lastLine(c) ? h("div", { class: "c-last muted small", text: lastLine(c) }) : null,
          h("div", {}, channelBadge(c), " ", slaBadge(c, tzOf(state, c)))));
    }));
  }

  async function load() {
    try {
      const body = await api("GET", "/consultations?assigned=me&status=active");
      state.mine.clear();
      for (const c of body.consultations || []) state.mine.set(c.id, c);
    } catch (err) {
      toast(errorText(err), "error");
    }
    paint();
  }

  /** A consultation moved: refresh it when it is (or just became) one of mine. */
  function onActivity(c) {
    if (state.mine.has(c.id) || assignedToMe(state, c)) upsert(c);
  }

  /** I read room `id` up to `seq` (here or on another device). */
  function setRead(id, seq) {
    state.readSeq.set(id, Math.max(state.readSeq.get(id) || 0, seq || 0));
    paint();
    ui.panes.paintTabs();
  }

  return { paint, load, upsert, onActivity, setRead };
}
