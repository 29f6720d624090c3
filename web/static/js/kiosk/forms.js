// The kiosk's input screens: the guest book, the priority question, a booking code, a portal QR code.
import { h } from "../dom.js";
import { t } from "../i18n.js";

const TOPICS = ["data", "metadata", "classification", "other"];
const ID_TYPES = ["ktp", "sim", "passport", "other"];
export const PRIORITIES = ["elderly", "disabled", "pregnant"];

function input(name, { type = "text", required = false, value = "", autocomplete = "off", inputmode, max = 200 } = {}) {
  return h("input", {
    id: `k-${name}`,
    name,
    type,
    required,
    value: value || "",
    autocomplete,
    inputmode,
    maxlength: String(max),
    class: "k-input",
  });
}

function row(name, label, control, hint) {
  return h(
    "div",
    { class: "k-field" },
    h("label", { for: `k-${name}`, text: label }),
    control,
    hint ? h("p", { class: "k-hint", text: hint }) : null,
  );
}

function select(name, values, labelKey, { required = false, empty = true } = {}) {
  return h(
    "select",
    { id: `k-${name}`, name, required, class: "k-input" },
    empty ? h("option", { value: "", text: t("kiosk.choose") }) : null,
    values.map((v) => h("option", { value: v, text: t(`${labelKey}.${v}`) })),
  );
}

/** The ID card fields, required where the office's standard asks for an ID card. */
export function idFields(required) {
  if (!required) return [];
  return [
    h("p", { class: "k-note", text: t("kiosk.id.note") }),
    row("id_type", t("kiosk.id.type"), select("id_type", ID_TYPES, "kiosk.id", { required: true })),
    row("id_number", t("kiosk.id.number"), input("id_number", { required: true, inputmode: "numeric", max: 32 }),
      t("kiosk.id.private")),
  ];
}

/** The guest book form; `prefill` comes from a portal QR code. `withPriority`: the office has no ticket step. */
export function guestbookForm({ prefill, idRequired, withPriority }) {
  const p = prefill || {};
  return h(
    "form",
    { id: "guestbook-form", class: "k-form", novalidate: true },
    row("name", t("kiosk.f.name"), input("name", { required: true, value: p.name, max: 120 })),
    row("email", t("kiosk.f.email"), input("email", { type: "email", required: true, value: p.email, inputmode: "email", max: 254 })),
    row("phone", t("kiosk.f.phone"), input("phone", { type: "tel", value: p.phone, inputmode: "tel", max: 40 })),
    row("institution", t("kiosk.f.institution"), input("institution", { value: p.institution })),
    row("occupation", t("kiosk.f.occupation"), input("occupation", { value: p.occupation, max: 120 })),
    row("topic", t("kiosk.f.topic"), select("topic", TOPICS, "topic")),
    row("purpose", t("kiosk.f.purpose"), h("textarea", { id: "k-purpose", name: "purpose", required: true, rows: "3", maxlength: "1000", class: "k-input" })),
    idFields(idRequired),
    withPriority ? priorityChoice() : null,
    h("p", { id: "k-form-error", class: "k-error", role: "alert" }),
    h("button", { type: "submit", class: "k-btn primary", text: t("kiosk.next") }),
  );
}

/** The priority question, as radio buttons big enough for a thumb. */
export function priorityChoice() {
  return h(
    "fieldset",
    { class: "k-priority" },
    h("legend", { text: t("kiosk.priority.q") }),
    [["", t("kiosk.priority.none")], ...PRIORITIES.map((p) => [p, t(`kiosk.priority.${p}`)])].map(([value, label]) =>
      h("label", { class: "k-choice" }, h("input", { type: "radio", name: "priority", value, checked: value === "" }), h("span", { text: label })),
    ),
  );
}

/** The fields of a form as an object, empty strings left out. */
export function values(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) {
    const s = String(v).trim();
    if (s) out[k] = s;
  }
  return out;
}
