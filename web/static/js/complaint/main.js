// The public complaint page (/complaints/new?office=CODE[&consultation=ID]): anyone files a complaint with a
// name and an e-mail address (a signed-in user's own are used); the office's own complaint channels and
// LAPOR! are listed beside it. The answer: the complaint's number and the date by which it will be answered.
import { api, currentUser, errorText, maybeSignedIn, offices } from "../api.js";
import { $, fill, h, safeUrl } from "../dom.js";
import { lang, onLangChange, t } from "../i18n.js";
import { initLayout, setSignedIn } from "../layout.js";

const params = new URLSearchParams(location.search);
const TEXT_MAX = 5000;
const LAPOR = "https://www.lapor.go.id";
const state = { offices: [], office: params.get("office") || "", consultation: null, me: null, done: null,
  draft: { name: "", email: "", phone: "", text: "" } };

function root() {
  return $("#complaint");
}

function officeOf(code) {
  return state.offices.find((o) => o.code === code) || null;
}

/** The office's own complaint channels (links, e-mail, WhatsApp, in person) and LAPOR!. */
function channels() {
  const o = officeOf(state.office);
  const c = (o && o.contacts) || {};
  const items = [];
  for (const link of c.complaint_links || []) {
    if (safeUrl(link, { allow: ["http:", "https:"] })) items.push(h("li", {}, h("a", { href: link, rel: "noopener", target: "_blank", text: link })));
  }
  if (c.complaint_email) items.push(h("li", {}, "E-mail: ", h("a", { href: `mailto:${c.complaint_email}`, text: c.complaint_email })));
  if (c.complaint_whatsapp) items.push(h("li", { text: `WhatsApp: ${c.complaint_whatsapp}` }));
  if (c.complaint_in_person) items.push(h("li", { text: `${t("cmp.in_person")}: ${c.complaint_in_person}` }));
  return h("aside", { class: "cmp-channels", id: "cmp-channels", "aria-labelledby": "cmp-channels-h" },
    h("h2", { id: "cmp-channels-h", text: t("cmp.channels") }),
    items.length ? [h("p", { class: "small", text: t("cmp.channels.office") }), h("ul", {}, items)] : null,
    h("p", {}, h("a", { href: LAPOR, rel: "noopener", target: "_blank", id: "cmp-lapor", text: t("cmp.lapor") })));
}

function counter(textarea) {
  const el = h("small", { class: "hint", id: "cmp-count", "aria-live": "polite" });
  const sync = () => { fill(el, t("cmp.text.hint", { n: textarea.value.length.toLocaleString(lang() === "en" ? "en-GB" : "id-ID") })); };
  textarea.addEventListener("input", sync);
  sync();
  return el;
}

function form() {
  const d = state.draft;
  const officeSel = h("select", { name: "office", id: "cmp-office", required: true,
    onchange: () => { state.office = officeSel.value; fill($("#cmp-side"), channels()); } },
  h("option", { value: "", text: "—" }),
  state.offices.map((o) => h("option", { value: o.code, text: o.name })));
  officeSel.value = state.office;
  const input = (name, type, label, extra = {}) => {
    const el = h("input", { type, name, id: `cmp-${name}`, value: d[name], oninput: () => { d[name] = el.value; }, ...extra });
    return h("div", { class: "field" }, h("label", { for: el.id, text: label }), el);
  };
  const text = h("textarea", { name: "text", id: "cmp-text", rows: "7", maxlength: String(TEXT_MAX), required: true,
    oninput: () => { d.text = text.value; } });
  text.value = d.text;
  const me = state.me;
  fill(root(),
    h("h1", { text: t("cmp.title") }),
    h("p", { class: "muted", text: t("cmp.lead") }),
    h("div", { class: "cmp-layout" },
      h("form", { class: "form", id: "cmp-form", novalidate: true, onsubmit: submit },
        h("div", { class: "field" }, h("label", { for: "cmp-office", text: t("cmp.office") }), officeSel),
        state.consultation && state.consultation.number ? h("p", { class: "notice", id: "cmp-about", text: t("cmp.about", { number: state.consultation.number }) }) : null,
        me ? h("p", { class: "small muted", id: "cmp-me", text: t("cmp.signed_in", { name: me.name, email: me.email }) })
          : [input("name", "text", t("cmp.name"), { autocomplete: "name", required: true, maxlength: "120" }),
            input("email", "email", t("cmp.email"), { autocomplete: "email", required: true, maxlength: "254" }),
            input("phone", "tel", t("cmp.phone"), { autocomplete: "tel", maxlength: "40" })],
        h("div", { class: "field" }, h("label", { for: "cmp-text", text: t("cmp.text") }), text, counter(text)),
        h("p", { class: "hint", text: t("cmp.privacy") }),
        h("p", { class: "form-status", id: "cmp-status", role: "alert", hidden: true }),
        h("button", { type: "submit", class: "btn primary big", id: "cmp-submit", text: t("cmp.submit") })),
      h("div", { id: "cmp-side" }, channels())));
  root().removeAttribute("aria-busy");
}

function done() {
  const c = state.done;
  fill(root(),
    h("h1", { text: t("cmp.done.title") }),
    h("p", { class: "notice", id: "cmp-done", role: "status",
      text: t("cmp.done", { number: c.number, due: c.due_local || c.due_at }) }),
    channels());
  root().removeAttribute("aria-busy");
}

async function submit(ev) {
  ev.preventDefault();
  const status = $("#cmp-status");
  const d = state.draft;
  const body = { office: state.office, text: d.text.trim(), lang: lang() };
  if (!state.me) {
    body.name = d.name.trim();
    body.email = d.email.trim();
    if (d.phone.trim()) body.phone = d.phone.trim();
  }
  if (state.consultation) body.consultation_id = state.consultation.id;
  const btn = $("#cmp-submit");
  btn.disabled = true;
  try {
    const out = await api("POST", "/complaints", body);
    state.done = out.complaint;
    done();
    root().focus();
  } catch (err) {
    status.dataset.kind = "error";
    fill(status, err.code === "invalid_office" ? t("cmp.office") : errorText(err));
    status.hidden = false;
    btn.disabled = false;
  }
}

async function start() {
  initLayout();
  try {
    state.offices = await offices();
  } catch (err) {
    fill(root(), h("p", { class: "error", role: "alert", text: errorText(err) }));
    return;
  }
  if (maybeSignedIn()) {
    try {
      state.me = await currentUser();
    } catch {
      state.me = null;
    }
    // Staff file complaints received elsewhere from the console; here everyone files their own.
    if (state.me && state.me.role !== "user") state.me = null;
    setSignedIn(Boolean(state.me));
  }
  const cid = params.get("consultation") || "";
  if (/^[0-9a-f]{24}$/i.test(cid)) {
    if (state.me) {
      try {
        const c = await api("GET", `/consultations/${cid}`);
        state.consultation = { id: c.id, number: c.number };
        state.office = c.office;
      } catch {
        state.consultation = null;
      }
    } else {
      state.consultation = { id: cid, number: null }; // sent along; the server checks its office
    }
  }
  form();
  onLangChange(() => (state.done ? done() : form()));
}

void start();
