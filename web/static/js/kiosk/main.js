// The walk-in kiosk (/kiosk?office=CODE): the guest book and the queue ticket in the order of the
// office's standard, a booking code for visits booked online, a portal QR code to pre-fill, the
// ticket shown big and printable. Large touch targets; portrait tablet or PC.
import { api, errorText, offices } from "../api.js";
import { $, fill, h } from "../dom.js";
import { applyI18n, lang, setLang, t } from "../i18n.js";
import { guestbookForm, idFields, priorityChoice, values } from "./forms.js";
import { kioskSteps, reset, state } from "./state.js";
import { ticketCard } from "./ticket.js";

const FORM_IDLE_MS = 120000;
const TICKET_IDLE_MS = 60000;
const params = new URLSearchParams(location.search);
const code = (params.get("office") || "").trim();

let idleTimer = null;
let idleMs = FORM_IDLE_MS;

function touch() {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => welcome(), idleMs);
}

function screen(...children) {
  const main = $("#kiosk-main");
  fill(main, ...children);
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
  touch();
}

function back() {
  return h("button", { type: "button", class: "k-btn ghost", text: t("kiosk.cancel"), onclick: () => welcome() });
}

function showError(el, err) {
  fill(el, errorText(err));
}

// --- the steps ----------------------------------------------------------------------------------

function welcome() {
  reset();
  idleMs = FORM_IDLE_MS;
  clearTimeout(idleTimer);
  const guestbookHere = state.order.includes("guestbook");
  fill(
    $("#kiosk-main"),
    h("h1", { class: "k-title", text: t("kiosk.welcome") }),
    h("p", { class: "k-lead", text: t(state.order[0] === "queue_ticket" ? "kiosk.lead.ticket_first" : "kiosk.lead.guestbook_first") }),
    h("button", { type: "button", id: "k-start", class: "k-btn primary huge", text: t("kiosk.start"), onclick: () => runStep(0) }),
    h(
      "div",
      { class: "k-alt" },
      guestbookHere ? h("button", { type: "button", id: "k-qr", class: "k-btn", text: t("kiosk.qr.button"), onclick: scanQr }) : null,
      h("button", { type: "button", id: "k-visit", class: "k-btn", text: t("kiosk.visit.button"), onclick: redeem }),
      // The SKM survey for a visitor who was served (issue 13); the survey page comes back here afterwards.
      h("a", { id: "k-survey", class: "k-btn", text: t("skm.kiosk.button"),
        href: `/survey?office=${encodeURIComponent(code)}&channel=walk_in&kiosk=1` }),
    ),
    state.office.walk_in && state.office.walk_in.requirements && state.office.walk_in.requirements.length
      ? h("details", { class: "k-reqs" }, h("summary", { text: t("kiosk.requirements") }),
        h("ul", {}, state.office.walk_in.requirements.map((r) => h("li", { text: r }))))
      : null,
  );
}

function runStep(i) {
  const steps = kioskSteps(state.order);
  if (i >= steps.length) {
    void showTicket();
    return;
  }
  if (steps[i] === "guestbook") guestbookStep(i);
  else if (state.ticket) runStep(i + 1); // the guest book of a ticketless office issued it already
  else priorityStep(i);
}

function guestbookStep(i) {
  const steps = kioskSteps(state.order);
  const form = guestbookForm({
    prefill: state.prefill,
    idRequired: state.idRequired,
    withPriority: !steps.includes("queue_ticket"),
  });
  form.addEventListener("input", touch);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = values(form);
    const err = $("#k-form-error", form);
    const missing = ["name", "email", "purpose", ...(state.idRequired ? ["id_type", "id_number"] : [])].find((k) => !v[k]);
    if (missing) {
      fill(err, t(missing.startsWith("id_") ? "err.id_required" : "kiosk.err.missing", { field: t(`kiosk.f.${missing}`) }));
      $(`[name=${missing}]`, form).focus();
      return;
    }
    const body = { ...v };
    if (state.ticket) body.ticket_id = state.ticket.ticket.id;
    if (state.qrToken) body.qr_token = state.qrToken;
    const submit = $("button[type=submit]", form);
    submit.disabled = true;
    try {
      const out = await api("POST", `/offices/${code}/guestbook`, body);
      state.entry = out.entry;
      if (out.ticket && out.token) state.ticket = { ticket: out.ticket, token: out.token, url: out.url };
      runStep(i + 1);
    } catch (e) {
      showError(err, e);
      submit.disabled = false;
    }
  });
  screen(
    state.ticket ? h("p", { class: "k-banner", text: t("kiosk.ticket.first", { number: state.ticket.ticket.number }) }) : null,
    h("h1", { class: "k-title", text: t("kiosk.guestbook") }),
    state.prefill ? h("p", { class: "k-note", text: t("kiosk.qr.filled") }) : null,
    form,
    back(),
  );
  const first = $("#k-name");
  if (first && !first.value) first.focus();
}

function priorityStep(i) {
  const form = h(
    "form",
    { id: "priority-form", class: "k-form" },
    priorityChoice(),
    h("p", { id: "k-form-error", class: "k-error", role: "alert" }),
    h("button", { type: "submit", id: "k-take", class: "k-btn primary huge", text: t("kiosk.take") }),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = values(form);
    const body = {};
    if (v.priority) body.priority = v.priority;
    if (state.entry) body.guestbook_id = state.entry.id;
    $("#k-take").disabled = true;
    try {
      const out = await api("POST", `/offices/${code}/queue/tickets`, body);
      state.ticket = { ticket: out.ticket, token: out.token, url: out.url };
      runStep(i + 1);
    } catch (e) {
      showError($("#k-form-error", form), e);
      $("#k-take").disabled = false;
    }
  });
  screen(h("h1", { class: "k-title", text: t("kiosk.ticket.take") }), form, back());
}

async function showTicket() {
  idleMs = TICKET_IDLE_MS;
  const issued = state.ticket;
  let phone = null;
  try {
    phone = await api("GET", `/queue/tickets/${issued.ticket.id}?token=${encodeURIComponent(issued.token)}`);
  } catch {
    phone = null;
  }
  screen(
    h("h1", { class: "k-title no-print", text: t("kiosk.ticket.title") }),
    ticketCard(state.office, issued, phone),
    h(
      "div",
      { class: "k-alt no-print" },
      h("button", { type: "button", id: "k-print", class: "k-btn", text: t("kiosk.print"), onclick: () => window.print() }),
      h("button", { type: "button", id: "k-done", class: "k-btn primary", text: t("kiosk.finish"), onclick: () => welcome() }),
    ),
  );
  if (params.get("print") === "auto") window.print();
}

// --- a visit booked online, a portal QR code ---------------------------------------------------

function redeem() {
  const form = h(
    "form",
    { id: "visit-form", class: "k-form", novalidate: true },
    h("div", { class: "k-field" }, h("label", { for: "k-code", text: t("kiosk.visit.code") }),
      h("input", { id: "k-code", name: "code", class: "k-input code", required: true, autocomplete: "off", maxlength: "20" })),
    idFields(state.idRequired),
    h("p", { id: "k-form-error", class: "k-error", role: "alert" }),
    h("button", { type: "submit", class: "k-btn primary", text: t("kiosk.next") }),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const out = await api("POST", `/offices/${code}/queue/visits`, values(form));
      state.entry = out.entry;
      state.ticket = { ticket: out.ticket, token: out.token, url: out.url };
      void showTicket();
    } catch (e) {
      showError($("#k-form-error", form), e);
    }
  });
  screen(h("h1", { class: "k-title", text: t("kiosk.visit.title") }), h("p", { class: "k-lead", text: t("kiosk.visit.lead") }), form, back());
  $("#k-code").focus();
}

async function useQr(text, errEl) {
  try {
    const out = await api("POST", `/offices/${code}/guestbook/prefill`, { qr_token: text });
    state.prefill = out.prefill;
    state.qrToken = text;
    runStep(0);
  } catch (e) {
    showError(errEl, e);
  }
}

function scanQr() {
  // Handheld scanners type the code and press Enter; a camera is used where the browser can read QR codes.
  const err = h("p", { id: "k-form-error", class: "k-error", role: "alert" });
  const form = h(
    "form",
    { id: "qr-form", class: "k-form" },
    h("div", { class: "k-field" }, h("label", { for: "k-qr-input", text: t("kiosk.qr.scan") }),
      h("input", { id: "k-qr-input", name: "qr", class: "k-input", autocomplete: "off" })),
    err,
    h("button", { type: "submit", class: "k-btn primary", text: t("kiosk.next") }),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("#k-qr-input").value.trim();
    if (text) void useQr(text, err);
  });
  const video = h("video", { class: "k-camera", muted: true, playsinline: true, hidden: true });
  screen(h("h1", { class: "k-title", text: t("kiosk.qr.title") }), h("p", { class: "k-lead", text: t("kiosk.qr.lead") }), video, form, back());
  $("#k-qr-input").focus();
  void startCamera(video, err);
}

async function startCamera(video, err) {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" } });
  } catch {
    return;
  }
  video.srcObject = stream;
  video.hidden = false;
  await video.play().catch(() => {});
  const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  const stop = () => stream.getTracks().forEach((tr) => tr.stop());
  const loop = async () => {
    if (!video.isConnected) return stop();
    try {
      const found = await detector.detect(video);
      if (found.length) {
        stop();
        return useQr(found[0].rawValue, err);
      }
    } catch {
      // a frame it could not read: try the next
    }
    setTimeout(loop, 300);
  };
  void loop();
}

// --- start --------------------------------------------------------------------------------------

function langButton() {
  const btn = $("#k-lang");
  const label = () => fill(btn, lang() === "en" ? "Bahasa Indonesia" : "English");
  label();
  btn.addEventListener("click", () => {
    setLang(lang() === "en" ? "id" : "en");
    label();
    welcome();
  });
}

async function start() {
  applyI18n();
  if (params.get("paper") === "58") document.body.classList.add("paper-58");
  if (!/^\d{4}$/.test(code)) {
    const list = await offices().catch(() => []);
    fill($("#kiosk-main"), h("h1", { class: "k-title", text: t("kiosk.choose_office") }),
      h("ul", { class: "k-offices" }, list.map((o) => h("li", {}, h("a", { class: "k-btn", href: `/kiosk?office=${o.code}`, text: o.name })))));
    return;
  }
  try {
    state.office = await api("GET", `/offices/${code}`);
  } catch (e) {
    fill($("#kiosk-main"), h("p", { class: "k-error", text: e.status === 404 ? t("kiosk.unknown_office") : errorText(e) }));
    return;
  }
  const w = state.office.walk_in || {};
  state.order = kioskSteps(w.order);
  state.idRequired = Boolean(w.id_card_required);
  fill($("#k-office"), state.office.name);
  document.title = `${t("kiosk.title")} — ${state.office.name}`;
  langButton();
  for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, touch, { passive: true });
  welcome();
}

void start();
