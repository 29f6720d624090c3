// The ticket as the kiosk shows and prints it: the number big, a QR code to the phone page.
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { qrSvg } from "./qr.js";

function localTime(iso, tz) {
  try {
    return new Intl.DateTimeFormat("id-ID", { dateStyle: "medium", timeStyle: "short", timeZone: tz }).format(new Date(iso));
  } catch {
    return iso;
  }
}

/** The printable ticket (also the screen's centre): office, number, time, priority, QR code, wait. */
export function ticketCard(office, issued, phone) {
  const tk = issued.ticket;
  return h(
    "article",
    { class: "ticket", id: "ticket", dataset: { number: tk.number } },
    h("p", { class: "ticket-office", text: office.name }),
    h("p", { class: "ticket-label", text: t("kiosk.ticket.label") }),
    h("p", { class: "ticket-number", id: "ticket-number", text: tk.number }),
    tk.priority ? h("p", { class: "ticket-prio", text: t(`kiosk.priority.${tk.priority}`) }) : null,
    h("p", { class: "ticket-time", text: localTime(tk.created_at, office.time_zone) }),
    phone && phone.position
      ? h("p", { class: "ticket-wait", id: "ticket-wait", text: t("kiosk.ticket.wait", { n: phone.position - 1, m: phone.estimated_wait_minutes }) })
      : null,
    h("div", { class: "ticket-qr" }, qrSvg(issued.url, t("kiosk.ticket.qr"))),
    h("p", { class: "ticket-hint", text: t("kiosk.ticket.qr") }),
    h("p", { class: "ticket-note", text: t("kiosk.ticket.note") }),
  );
}
