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
