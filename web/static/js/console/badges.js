// Small pieces the console's lists, tabs and room heads share.
import { localText } from "../chat.js";
import { h } from "../dom.js";
import * as fmt from "../fmt.js";
import { t } from "../i18n.js";

/** The SLA badge of a consultation (none once closed); times in `tz`. */
export function slaBadge(c, tz) {
  const sla = c.sla || {};
  const state = c.status === "closed" ? null : sla.paused ? "paused" : sla.state || "on_track";
  if (!state) return null;
  let text = t(`console.sla.${state}`);
  if (sla.due_at && state !== "met") text += ` · ${t("console.sla.due", { date: fmt.shortDateTime(sla.due_at, tz) })}`;
  return h("span", { class: `badge sla sla-${state}`, text });
}

/** Where the consultation came in: online, walk-in, WhatsApp or e-mail. */
export function channelBadge(c) {
  const channel = c.channel || "online";
  return h("span", { class: `badge channel channel-${channel}`, text: t(`sup.channel.${channel}`) });
}

/** WhatsApp: until when a free-form reply may go out (after that, replies wait for the user). */
export function windowBadge(c, tz) {
  if (c.channel !== "whatsapp" || c.status === "closed") return null;
  const until = c.whatsapp_window_closes_at;
  if (until && Date.parse(until) > Date.now()) {
    return h("span", { class: "badge wa-window", text: t("console.wa.window", { date: fmt.shortDateTime(until, tz) }) });
  }
  return h("span", { class: "badge wa-window is-closed", text: t("console.wa.window.closed") });
}

/** The channels a list can be narrowed to; `state.channel` holds the choice ("" for all). */
export function channelFilter(state, onChange) {
  const select = h("select", { class: "channel-filter small", "aria-label": t("console.channel.filter"),
    onchange: (ev) => { state.channel = ev.currentTarget.value; onChange(); } },
  h("option", { value: "", text: t("console.channel.all") }),
  ...["online", "whatsapp", "email", "walk_in"].map((ch) => h("option", { value: ch, text: t(`sup.channel.${ch}`) })));
  select.value = state.channel || "";
  return select;
}

/** Whether consultation `c` passes the list's channel filter. */
export function inChannel(state, c) {
  return !state.channel || (c.channel || "online") === state.channel;
}

/** A count of unread messages, or null for none. */
export function unreadBadge(n, label) {
  if (!n) return null;
  return h("span", { class: "badge unread", "aria-label": `${n} ${label || ""}`.trim(), text: String(n) });
}

/** The last message of a consultation as one line ("Name: text", notes marked). */
export function lastLine(c) {
  const lm = c.last_message;
  if (!lm || !lm.text) return "";
  if (lm.texts) return localText(lm); // the system, in the reader's language
  const who = lm.kind === "note" ? `${t("room.note")} · ` : lm.author_name ? `${lm.author_name}: ` : "";
  return who + lm.text;
}
