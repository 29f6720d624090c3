// In-person visits from a room, for the citizen (portal) and the officer (console) alike: pick a day
// the office is open (weekends and holidays are not offered), then a free time from
// GET /offices/{code}/visit-slots; book, move (a new booking replaces the old) or cancel. And the
// visit's card in the chat, like the meeting's.
import { api, errorText } from "./api.js";
import { confirmModal, h, modal, say } from "./dom.js";
import * as fmt from "./fmt.js";
import { locale, t } from "./i18n.js";
import { toast } from "./layout.js";

const SLOT_DAYS = 28;

function bookedVisit(c) {
  return c && c.visit && c.visit.status === "booked" ? c.visit : null;
}

/** "Senin, 7 Desember 2026" of a YYYY-MM-DD date (no time zone shift: it is the office's date). */
function dayLabel(date) {
  const [y, m, d] = date.split("-").map(Number);
  return new Intl.DateTimeFormat(locale(), { weekday: "long", day: "numeric", month: "long", year: "numeric",
    timeZone: "UTC" }).format(Date.UTC(y, m - 1, d));
}

/**
 * The booking dialog of consultation `c`: the open days with a free time, then the free times of the
 * chosen day. `onDone(message)` after a booking (the room's message comes live anyway).
 */
export async function pickVisit(c, { onDone } = {}) {
  const current = bookedVisit(c);
  const status = h("p", { class: "form-status", role: "alert", hidden: true });
  const days = h("div", { class: "visit-days", role: "radiogroup", "aria-label": t("visit.day") });
  const times = h("div", { class: "visit-times", role: "radiogroup", "aria-label": t("visit.time") });
  const submit = h("button", { type: "submit", class: "btn primary", disabled: true,
    text: current ? t("visit.move.submit") : t("visit.book.submit") });
  const cancel = h("button", { type: "button", class: "btn", text: t("console.cancel") });
  const form = h("form", { class: "form visit-form" },
    current ? h("p", { class: "notice", text: t("visit.current", { when: fmt.dateTime(current.slot_start, c.time_zone) }) }) : null,
    h("fieldset", { class: "radios" }, h("legend", { text: t("visit.day") }), days),
    h("fieldset", { class: "radios" }, h("legend", { text: t("visit.time") }), times),
    status, h("div", { class: "actions" }, cancel, submit));
  const dlg = modal(current ? t("visit.move.title") : t("visit.book.title"), form, { wide: true });
  cancel.addEventListener("click", () => dlg.close());
  days.append(h("p", { class: "muted", text: t("kb.loading") }));
  let chosen = null; // the slot's ISO start

  let offered = [];
  let tz = c.time_zone || "Asia/Jakarta";
  try {
    const out = await api("GET", `/offices/${encodeURIComponent(c.office)}/visit-slots?days=${SLOT_DAYS}`);
    tz = out.time_zone || tz;
    // Only days the office is open and that still have a free time: nothing to refuse after submit.
    offered = (out.days || []).filter((d) => d.open && d.slots.some((s) => s.available > 0));
  } catch (err) {
    say(status, errorText(err), "error");
  }
  const showTimes = (day) => {
    chosen = null;
    submit.disabled = true;
    times.replaceChildren(...day.slots.filter((s) => s.available > 0).map((s) => {
      const id = `slot-${s.start.replace(/\W/g, "")}`;
      const input = h("input", { type: "radio", name: "slot", id, value: s.start });
      input.addEventListener("change", () => {
        chosen = s.start;
        submit.disabled = false;
      });
      return h("label", { class: "radio chip", for: id }, input, " ",
        h("span", { text: `${s.time} ${fmt.tzAbbr(tz)}` }),
        h("small", { class: "muted", text: ` ${t("visit.left", { n: s.available })}` }));
    }));
  };
  if (!offered.length) {
    days.replaceChildren(h("p", { class: "muted", text: t("visit.none") }));
  } else {
    days.replaceChildren(...offered.map((d, i) => {
      const id = `day-${d.date}`;
      const input = h("input", { type: "radio", name: "day", id, value: d.date });
      input.addEventListener("change", () => showTimes(d));
      if (i === 0) setTimeout(() => input.focus(), 0);
      return h("label", { class: "radio chip", for: id }, input, " ", dayLabel(d.date));
    }));
    times.append(h("p", { class: "muted", text: t("visit.pick.day") }));
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!chosen) return;
    say(status, "");
    submit.disabled = true;
    try {
      const made = await api("POST", `/consultations/${c.id}/visit`, { date: chosen });
      dlg.close();
      toast(t("visit.booked", { when: fmt.dateTime(made.slot_start, tz), code: made.code }));
      if (onDone) onDone(made);
    } catch (err) {
      say(status, errorText(err), "error");
      submit.disabled = false;
    }
  });
}

/** Cancel consultation `c`'s booked visit after a confirmation. */
export async function cancelVisit(c) {
  const current = bookedVisit(c);
  if (!current) return;
  const ok = await confirmModal(t("visit.cancel.confirm", { when: fmt.dateTime(current.slot_start, c.time_zone) }),
    t("visit.cancel"), t("console.cancel"));
  if (!ok) return;
  try {
    await api("DELETE", `/consultations/${c.id}/visit`);
    toast(t("visit.cancelled"));
  } catch (err) {
    toast(errorText(err), "error");
  }
}

/** The visit actions for a room's menu: book, or move and cancel the booked one. */
export function visitActions(c) {
  if (!c || c.status === "closed") return [];
  if (!bookedVisit(c)) return [{ label: t("visit.book.title"), run: () => pickVisit(c) }];
  return [
    { label: t("visit.move.title"), run: () => pickVisit(c) },
    { label: t("visit.cancel"), run: () => cancelVisit(c) },
  ];
}

/** The card of a visit message (data.visit), in the time zone `tz`. */
export function visitCard(m, tz) {
  const v = (m.data && m.data.visit) || {};
  const cancelled = v.status === "cancelled";
  const facts = [
    [t("visit.when"), v.slot_start ? fmt.dateTime(v.slot_start, tz) : ""],
    [t("visit.code"), v.code || ""],
    [t("visit.place"), v.place || ""],
    [t("visit.address"), v.address || ""],
  ].filter(([, value]) => value);
  return h("div", { class: `msg-body visit${cancelled ? " is-cancelled" : ""}` },
    h("strong", { text: cancelled ? t("visit.card.cancelled") : t("visit.card") }),
    h("dl", {}, facts.map(([k, value]) => [h("dt", { text: k }), h("dd", { text: value })])),
    !cancelled && (v.requirements || []).length
      ? h("details", {}, h("summary", { text: t("visit.requirements") }),
        h("ul", {}, v.requirements.map((r) => h("li", { text: r }))))
      : null);
}
