// A room's header in the console: number, subject, who asks, status and SLA, and the officer's
// actions (clarification, transfer, escalate, info, close); once closed, the transcript and
// "make a knowledge-base draft".
import { api, errorText } from "../api.js";
import { fill, h } from "../dom.js";
import { t } from "../i18n.js";
import { toast } from "../layout.js";
import { channelBadge, slaBadge, windowBadge } from "./badges.js";
import { tzOf } from "./state.js";

/** Room heads of the screen `ui`. */
export function createRoomHead(ui) {
  const { state } = ui;
  // The narrow panes' action menu closes when an action is taken or the officer clicks elsewhere.
  document.addEventListener("click", (ev) => {
    for (const d of document.querySelectorAll("details.room-more[open]")) {
      if (!d.contains(ev.target) || ev.target.closest(".menu-list button")) d.open = false;
    }
  });

  /** Paint `room`'s header and footer for consultation `c`. */
  function paint(room, c) {
    const { dialogs } = ui;
    // A visit: book one, or move and cancel the booked one.
    const visitButtons = () => (c.visit && c.visit.status === "booked" ? [
      h("button", { type: "button", text: t("visit.move.title"), onclick: () => dialogs.visit(room) }),
      h("button", { type: "button", text: t("visit.cancel"), onclick: () => dialogs.cancelVisit(room) }),
    ] : [h("button", { type: "button", text: t("console.visit"), onclick: () => dialogs.visit(room) })]);
    const menu = h("details", { class: "menu" },
      h("summary", { class: "btn ghost small", text: t("console.escalate") }),
      h("div", { class: "menu-list" },
        h("button", { type: "button", text: t("console.meeting"), onclick: () => dialogs.meeting(room) }),
        visitButtons()));
    const closed = c.status === "closed";
    const awaiting = Boolean(c.awaiting_clarification ?? (c.sla && c.sla.paused));
    const clarifyOff = Boolean(c.sla && c.sla.state === "met" && !awaiting);
    menu.classList.add("inline-action");
    const actions = closed ? [
      h("button", { type: "button", class: "btn ghost small", text: t("console.info"), onclick: () => dialogs.info(room) }),
    ] : [
      h("button", { type: "button", class: "btn ghost small clarify inline-action", "aria-pressed": String(awaiting),
        text: t("console.clarify"), title: awaiting ? t("console.clarify.on") : null, disabled: clarifyOff,
        onclick: () => setClarification(room, !awaiting) }),
      h("button", { type: "button", class: "btn ghost small inline-action", text: t("console.transfer"),
        onclick: () => dialogs.transfer(room) }),
      menu,
      h("button", { type: "button", class: "btn ghost small inline-action", text: t("console.info"),
        onclick: () => dialogs.info(room) }),
      h("button", { type: "button", class: "btn small danger-ghost inline-action", text: t("console.close"),
        onclick: () => dialogs.close(room) }),
      // The same actions in one menu, shown instead when the pane is narrow (three or four side by side,
      // a phone): one line of header rather than three.
      h("details", { class: "room-more" },
        h("summary", { class: "btn ghost small", "aria-label": t("console.actions"), title: t("console.actions"),
          text: "⋯" }),
        h("div", { class: "menu-list" },
          h("button", { type: "button", class: "clarify", "aria-pressed": String(awaiting), disabled: clarifyOff,
            text: t("console.clarify"), onclick: () => setClarification(room, !awaiting) }),
          h("button", { type: "button", text: t("console.transfer"), onclick: () => dialogs.transfer(room) }),
          h("button", { type: "button", text: t("console.meeting"), onclick: () => dialogs.meeting(room) }),
          visitButtons(),
          h("button", { type: "button", text: t("console.info"), onclick: () => dialogs.info(room) }),
          h("button", { type: "button", class: "danger", text: t("console.close"), onclick: () => dialogs.close(room) }))),
    ];
    fill(room.head,
      h("div", { class: "room-title" },
        h("h2", {}, h("span", { class: "c-number", text: c.number || "" }), " ", c.subject || ""),
        h("p", { class: "room-sub muted" },
          whoLine(c), " ", channelBadge(c), " ", windowBadge(c, tzOf(state, c)), " ",
          h("span", { class: `badge status-${c.status}`, text: t(`status.${c.status}`) }), " ", slaBadge(c, tzOf(state, c)),
          c.assigned_to && c.assigned_to.id !== state.me.id ? ` · ${c.assigned_to.name}` : "")),
      h("div", { class: "room-actions" }, actions,
        h("button", { type: "button", class: "icon-btn", "aria-label": t("console.close.tab", { name: c.user?.name || "" }),
          text: "×", onclick: () => ui.panes.close(room.id) })));
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
      state.kbAdmin.remember(art);
      ui.shell.navigate(`#kb/${art.id}`);
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

  return { paint };
}

/** Who asks: the name and the address, on one line (cut short with "…" in a narrow pane; the full
 * address in its tooltip and in the room's Info). */
function whoLine(c) {
  const address = c.contact?.address || c.user?.email || "";
  return h("span", { class: "room-who", title: address ? `${c.user?.name || ""} · ${address}` : null },
    h("strong", { text: c.user?.name || "" }), address ? ` · ${address}` : "");
}
