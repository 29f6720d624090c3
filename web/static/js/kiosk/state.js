// The kiosk's state for one visitor; `reset()` forgets everything before the next one walks up.

export const state = {
  office: null, // the office document (GET /offices/{code})
  order: [], // the office's steps that happen at the kiosk: "guestbook", "queue_ticket"
  idRequired: false,
  entry: null, // the guest book entry, once written
  ticket: null, // { ticket, token, url } once issued
  qrToken: null, // from a scanned portal QR code
  prefill: null, // the account's fields the QR code stood for
};

export function reset() {
  state.entry = null;
  state.ticket = null;
  state.qrToken = null;
  state.prefill = null;
}

/** The kiosk steps of an office's walk-in order (the rest happen at the desk). */
export function kioskSteps(order) {
  const steps = (order || []).filter((s) => s === "guestbook" || s === "queue_ticket");
  return steps.length ? steps : ["guestbook", "queue_ticket"];
}
